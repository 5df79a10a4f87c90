import { describe } from 'node:test';
import { kafkaTier } from '@wf/shared/testing';
import { pipelineScenarios } from './pipeline.scenarios.js';

const tier = kafkaTier();

describe('end to end on the real Kafka broker (three services, each with its own kafkajs client)', { skip: tier.skip }, () => {
  pipelineScenarios(tier.url?.split(','));
});
