import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { storeContract } from './store-contract.ts';

storeContract('memory', async () => openMemoryStores());
