import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hash } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import { Ledger } from './ledger.ts';
import type { IndexStore } from './store/index-store.ts';
import { lockStore } from './store/lock.ts';
import type { ObjectStore } from './store/object-store.ts';
import { type Stores, openStores } from './store/open.ts';

export interface Relay {
  objects: ObjectStore;
  index: IndexStore;
  ledger: Ledger;
  /** Payload files that no block referred to at open (left by a crash mid-submission), now deleted. */
  removedOrphans: Hash[];
  close(): Promise<void>;
}

/**
 * Opens the store in `dir` for writing: takes the store lock, removes orphan payload files, and
 * puts a Ledger in front of it. Only one Relay may have a store open at a time.
 */
export async function openRelay(dir: string, rules: RuleOptions): Promise<Relay> {
  await mkdir(dir, { recursive: true });
  const unlock = await lockStore(join(dir, 'relay.lock'));
  let stores: Stores | undefined;
  try {
    stores = await openStores(dir, 'readwrite');
    const { objects, index } = stores;
    const removedOrphans = await objects.removeOrphans((h) => index.hasPayload(h));
    const ledger = new Ledger(objects, index, rules);
    return {
      objects,
      index,
      ledger,
      removedOrphans,
      async close() {
        await ledger.drain();
        await index.close();
        await unlock();
      },
    };
  } catch (e) {
    await stores?.index.close();
    await unlock();
    throw e;
  }
}
