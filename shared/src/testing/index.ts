export { FakeClock } from './fake-clock.js';
export { kafkaTier, postgresTier, mongoTier, startTierServers, type Tier, type TierServerOptions, type TierServers } from './tiers.js';
export type { TestServer } from './containers.js';
export { eventually } from './eventually.js';
