export { FakeClock } from './fake-clock.js';
export { kafkaTier, postgresTier, mongoTier, type Tier } from './tiers.js';
export { eventually } from './eventually.js';
