import { type Address, type Hash, blockHash, equalBytes, parseHeader } from '@blyan/block';
import { MemoryChain, type RuleOptions, validateBlock } from '@blyan/chain';
import type { DelegatedAt } from './auth/proofs.ts';
import { joinLeaves } from './leaves.ts';
import { slotShapes } from './payload-shape.ts';
import type { IndexStore } from './store/index-store.ts';
import type { ObjectStore } from './store/object-store.ts';

export interface VerifyReport {
  blocks: number;
  versions: number;
  metaHead: Hash | null;
  problems: string[];
}

const PAGE = 256;

function sameRecord(a: Record<string, Hash>, b: Record<string, Hash>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * Replays the store from genesis in acceptance order through the chain rules into a fresh
 * MemoryChain, recomputing every block hash, payload hash, Merkle root, tile leaf list and
 * signature, and who let each block in (an authority of its meta block, or the evaluator's verdict
 * stored with it), then checks that the index's heads, ParamIndex and counts match the replay. A block
 * signed by a session key passes if `delegatedAt` proves the delegation at its `created_at`.
 */
export async function verifyStore(index: IndexStore, objects: ObjectStore, delegatedAt?: DelegatedAt): Promise<VerifyReport> {
  const chain = new MemoryChain();
  const rules: RuleOptions = { maxPayloadBytes: Number.MAX_SAFE_INTEGER, checkPayload: slotShapes(objects) };
  const problems: string[] = [];
  const versions = new Set<Hash>();
  let after = 0;
  for (;;) {
    const page = await index.list(after, PAGE);
    if (page.length === 0) break;
    for (const b of page) {
      after = b.seq;
      const at = `#${b.seq} ${b.hash}`;
      try {
        parseHeader(b.header);
      } catch (e) {
        problems.push(`${at}: stored header is malformed: ${(e as Error).message}`);
        continue;
      }
      if (blockHash(b.header) !== b.hash) {
        problems.push(`${at}: stored header hashes to ${blockHash(b.header)}`);
        continue;
      }
      const size = await objects.size(b.header.payload_hash);
      if (size !== b.header.payload_size) {
        problems.push(`${at}: payload ${b.header.payload_hash} is ${size === undefined ? 'missing' : `${size} bytes, header says ${b.header.payload_size}`}`);
        continue;
      }
      const payload = await objects.read(b.header.payload_hash);
      const createdAt = b.header.created_at;
      const isDelegate = delegatedAt && ((author: Address, signer: Address) => delegatedAt(author, signer, createdAt));
      const accepted = await validateBlock(chain, { header: b.header, payload }, { ...rules, ...(isDelegate && { isDelegate }) }, b.verdict ?? undefined);
      if (!accepted.ok) {
        problems.push(`${at}: ${accepted.code}: ${accepted.message}`);
        continue;
      }
      if (accepted.version !== b.version || accepted.slot !== b.slot) {
        problems.push(`${at}: index files it under ${b.version}/${b.slot}, the rules put it in ${accepted.version}/${accepted.slot}`);
      }
      if (accepted.verdict === null && b.verdict !== null) problems.push(`${at}: stored with a verdict, but an authority signed it`);
      if (!equalBytes((await index.leaves(b.hash)) ?? new Uint8Array(0), joinLeaves(accepted.leaves))) {
        problems.push(`${at}: stored tile leaves differ from the payload's`);
      }
      if (accepted.startsVersion) versions.add(accepted.hash);
      chain.apply(accepted);
    }
  }
  const metaHead = await index.metaHead();
  if (metaHead !== chain.metaHead()) problems.push(`meta head is ${metaHead}, replay gives ${chain.metaHead()}`);
  for (const v of versions) {
    const replayed = chain.paramIndex(v);
    const params: Record<string, Hash> = {};
    const datasets: Record<string, Hash> = {};
    for (const [slot, h] of Object.entries(replayed)) {
      if (slot.startsWith('D/')) datasets[slot.slice(2)] = h;
      else params[slot] = h;
    }
    if (!sameRecord(await index.paramIndex(v), params)) problems.push(`ParamIndex of version ${v} differs from the replay`);
    if (!sameRecord(await index.datasetHeads(v), datasets)) problems.push(`dataset heads of version ${v} differ from the replay`);
  }
  const counts = await index.counts();
  const total = counts.A + counts.B + counts.D;
  if (total !== after || chain.size !== total) {
    problems.push(`counts say ${total} blocks, the index lists up to #${after}, the replay accepted ${chain.size}`);
  }
  return { blocks: chain.size, versions: versions.size, metaHead, problems };
}
