import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hash, Signer } from '@blyan/block';
import type { RuleOptions } from '@blyan/chain';
import { type Accounts, openAccounts } from './accounts/accounts.ts';
import { accountsPath, openAccountsDb } from './accounts/db.ts';
import type { AuthStore } from './auth/auth-store.ts';
import { PgAuthStore } from './auth/pg-auth-store.ts';
import { SqliteAuthStore } from './auth/sqlite-auth-store.ts';
import { type AccountsConfig, defaultAccountsConfig } from './contributions/config.ts';
import { openEvalSecret, sharedEvalSecret } from './contributions/eval-secret.ts';
import { corpusDocs } from './corpus.ts';
import { Ledger } from './ledger.ts';
import { slotShapes } from './payload-shape.ts';
import type { IndexStore } from './store/index-store.ts';
import { lockStore } from './store/lock.ts';
import type { CachedObjectStore } from './store/cached-object-store.ts';
import { type Backends, type Stores, openStores } from './store/open.ts';
import type { LimitStore } from './server/client-limits.ts';
import { PgRateStore } from './server/pg-rate-store.ts';

export interface Relay {
  objects: CachedObjectStore;
  index: IndexStore;
  ledger: Ledger;
  /** Sign-in, contributions and rewards (accounts.sqlite); the Ledger's rules ask it about delegations. */
  accounts: Accounts;
  /** The key this relay signs proof-of-learning verdicts with, if it holds one. */
  verdictSigner: Signer | null;
  /** Where per-client rate limits count: in PostgreSQL when replicas share a database, else in memory (undefined). */
  limitStore: LimitStore | undefined;
  /** Payload files that no block referred to at open (left by a crash mid-submission), now deleted. */
  removedOrphans: Hash[];
  close(): Promise<void>;
}

export const DEFAULT_ORIGIN = 'http://localhost:5173';

/**
 * Opens the store in `dir` for writing: takes the store lock, removes orphan payload files, puts
 * a Ledger in front of it (accepting session-key signatures while their SIWE delegation is live,
 * and parameter payloads only when they hold exactly their slot's tensors), opens (or creates) the
 * evaluation secret, and resumes contributions left unjudged. Only one Relay may have a store open
 * at a time. `verdictSigner` is the evaluator key the worker signs verdicts with (null: this relay
 * judges nothing). `backends` puts the index, sign-in (nonces, sessions), rate limits, the
 * contribution queue, rounds, assignments, the rewards journal, the data hub, usage and the
 * evaluation secret on PostgreSQL (one pool, the index's) and the payloads in S3, shared with other
 * replicas and `blyan worker` processes, which judge what the replicas queue (contributions, dataset
 * uploads and rounds); `dir` then keeps only this replica's own files (lock, keys, accounts.sqlite).
 */
export async function openRelay(
  dir: string,
  rules: RuleOptions,
  config: AccountsConfig = defaultAccountsConfig(DEFAULT_ORIGIN, corpusDocs),
  verdictSigner: Signer | null = null,
  backends: Backends = {},
): Promise<Relay> {
  if (backends.database !== undefined && backends.objects === undefined) {
    throw new Error('a relay on a shared --database keeps its payloads in a shared bucket too (--objects s3://…): in each replica\'s own folder, a block one replica accepted could not be served by the others');
  }
  await mkdir(dir, { recursive: true });
  const unlock = await lockStore(join(dir, 'store.lock'));
  let stores: Stores | undefined;
  try {
    stores = await openStores(dir, 'readwrite', backends);
    const { objects, index, pool: shared } = stores;
    const removedOrphans = await objects.removeOrphans((h) => index.hasPayload(h));
    const db = openAccountsDb(accountsPath(dir));
    const evalSecret = shared === undefined ? await openEvalSecret(dir) : await sharedEvalSecret(shared);
    const auth: AuthStore = shared === undefined ? new SqliteAuthStore(db, config.now, config.maxNonces) : new PgAuthStore(shared, config.now, config.maxNonces);
    const ledger = new Ledger(objects, index, { ...rules, isDelegate: auth.isDelegate, checkPayload: slotShapes(objects) });
    const accounts = openAccounts(db, auth, config, { index, objects, ledger, verdictSigner }, evalSecret, shared);
    await accounts.judging.resume();
    await accounts.data.worker.resume();
    return {
      objects,
      index,
      ledger,
      accounts,
      verdictSigner,
      limitStore: shared && (() => new PgRateStore(shared)),
      removedOrphans,
      async close() {
        await accounts.judging.drain();
        await accounts.data.worker.drain();
        await accounts.evaluator.dispose();
        await ledger.drain();
        db.close();
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
