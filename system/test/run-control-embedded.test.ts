import { describe } from 'node:test';
import { overlapQueueScenarios, retentionScenarios, runControlScenarios } from './run-control.scenarios.js';

describe('run control end to end in the embedded mode (memory store, in-process bus)', () => {
  runControlScenarios();
});

describe('retention end to end in the embedded mode', () => {
  retentionScenarios();
});

describe('overlap: queue end to end in the embedded mode', () => {
  overlapQueueScenarios();
});
