/**
 * @blyan/client: the relay's read API for browsers and Node, with verification built in: headers
 * are checked to hash to their address and to carry their author's signature, and payloads are
 * checked tile by tile against the Merkle root while they stream.
 */
export { META_SLOT, slotOf } from '@blyan/chain';
export { type AccountHistory, AccountsClient, type Assignment, type ContributionView, type Leaderboard, type LoginChallenge, type RoundDelivery, type RoundInfo, type RoundUnit, type Session, type Shard, type Submission, type UsageReceipt } from './accounts-client.ts';
export type { Fetch } from './connection.ts';
export { type DelegationLookup, type DelegationProof, type ProvenDelegation, checkDelegation, relayDelegations } from './delegations.ts';
export { BlockVerificationError, RelayError } from './errors.ts';
export { leafHashAsync } from './leaf-hash.ts';
export { type Attested, type AttestedSource, type Distrust, Lineage, TrustError } from './lineage.ts';
export { type VerifiedBlock, loadVerifiedBlock } from './load-block.ts';
export { RelayClient } from './relay-client.ts';
export type { BlockInfo, Heads, HistoryEntry, ParamIndex, ProvenTile } from './types.ts';
export { type ProvenBlock, loadProvenBlock } from './proven-block.ts';
export { ProvenHeaders } from './proven-headers.ts';
export { type PayloadOptions, type PayloadProgress, fetchVerifiedPayload } from './verified-payload.ts';
export { verifyHeader } from './verify-header.ts';
