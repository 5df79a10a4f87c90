import { createMemoryStore } from '../src/adapters/memory/index.js';
import { describeStoreContract } from './contract/store-contract.js';

describeStoreContract('memory', async () => createMemoryStore());
