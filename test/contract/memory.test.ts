import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { memoryAtRest } from './at-rest.ts';
import { outboxContract } from './outbox-contract.ts';
import { storeContract } from './store-contract.ts';
import { ManualClock, movedTime } from './store-time.ts';

const clock = new ManualClock();
// No rest to read: the engine's documents stay in this process, unsealed (compose.ts).
storeContract('memory', async () => openMemoryStores(clock), movedTime(clock), undefined);
outboxContract('memory', async () => openMemoryStores(clock), memoryAtRest);
