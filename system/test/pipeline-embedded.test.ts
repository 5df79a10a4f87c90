import { describe } from 'node:test';
import { pipelineScenarios } from './pipeline.scenarios.js';

describe('end to end in the embedded mode (in-process bus)', () => {
  pipelineScenarios();
});
