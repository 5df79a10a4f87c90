export { FakeClock } from './fake-clock.js';
export { kafkaTier, postgresTier, mongoTier, browserTier, type Tier } from './tiers.js';
export { eventually } from './eventually.js';
export { FlakyServer } from './flaky-server.js';
