export { createInProcessBus, type InProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export type { TopicRecord } from './broker.js';
export { REDELIVERY_BACKOFF_MS } from './consumer.js';
