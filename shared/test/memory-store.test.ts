import { createMemoryStore } from '../src/index.js';
import { describeStoreContract } from './contract/store-contract.js';

describeStoreContract('memory', async () => createMemoryStore());
