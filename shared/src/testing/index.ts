export { capturedLogger, type LogLine } from './captured-logger.js';
export { FakeClock } from './fake-clock.js';
export { aWorkflow, FIXTURE_TIME } from './fixtures.js';
export { startForSuite } from './suite.js';
export { withOutage, type OutageSwitch } from './outage.js';
export { kafkaTier, postgresTier, mongoTier, browserTier, startTierServers, type Tier, type TierServerOptions, type TierServers } from './tiers.js';
export type { TestServer } from './containers.js';
export { eventually } from './eventually.js';
export { FlakyServer } from './flaky-server.js';
