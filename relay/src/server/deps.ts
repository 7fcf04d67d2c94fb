import type { Accounts } from '../accounts/accounts.ts';
import type { Ledger } from '../ledger.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { CachedObjectStore } from '../store/cached-object-store.ts';
import type { ClientLimits, LimitStore } from './client-limits.ts';

/** What the HTTP layer needs from the relay. */
export interface AppDeps {
  index: IndexStore;
  /** Payloads, small ones kept verified in memory (what the payload routes send). */
  objects: CachedObjectStore;
  ledger: Ledger;
  accounts: Accounts;
  /** The largest payload the chain rules accept; the request body limit adds the wire header. */
  maxPayloadBytes: number;
  /** Per-client rate limits; DEFAULT_CLIENT_LIMITS when absent. */
  limits?: ClientLimits;
  /** Where the per-client limits count (shared by replicas on PostgreSQL); in memory when absent. */
  limitStore?: LimitStore;
}
