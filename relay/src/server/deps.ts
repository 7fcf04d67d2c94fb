import type { Signer } from '@blyan/block';
import type { Accounts } from '../accounts/accounts.ts';
import type { Ledger } from '../ledger.ts';
import type { IndexStore } from '../store/index-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** What the HTTP layer needs from the relay. */
export interface AppDeps {
  index: IndexStore;
  objects: ObjectStore;
  ledger: Ledger;
  accounts: Accounts;
  /**
   * The evaluator key verdicts are signed with, or null; contributions are judged only while the
   * meta head names it (judgesContributions in ../judging.ts).
   */
  verdictSigner: Signer | null;
  /** The largest payload the chain rules accept; the request body limit adds the wire header. */
  maxPayloadBytes: number;
}
