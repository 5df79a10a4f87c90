export { createKafkaBus } from './kafka-bus.js';
export { DEFAULT_KAFKA_TUNING, DEFAULT_TOPIC_PARTITIONS, type KafkaBusOptions, type KafkaTuning } from './options.js';
export { DEAD_LETTER_HEADERS, EVENT_HEADERS, DEFAULT_MAX_BATCH_SIZE } from './consume-batch.js';
