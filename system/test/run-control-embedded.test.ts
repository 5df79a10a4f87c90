import { describe } from 'node:test';
import { retentionScenarios, runControlScenarios } from './run-control.scenarios.js';

describe('run control end to end in the embedded mode (memory store, in-process bus)', () => {
  runControlScenarios();
});

describe('retention end to end in the embedded mode', () => {
  retentionScenarios();
});
