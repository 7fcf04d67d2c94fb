import { type Address, type Block, type BlockHeader, type Hash, type Signer, blockHash, buildBlock } from '@blyan/block';
import { type SignedVerdict, sampleCommitment, signVerdict } from '@blyan/chain';
import { privateKeyToAccount } from 'viem/accounts';
import type { Attested, AttestedSource } from '../src/lineage.ts';
import type { ParamIndex } from '../src/types.ts';

/** Fixture chains for the lineage check: small signed blocks held in memory, served as a relay would list them. */

const key = (n: number) => privateKeyToAccount(`0x${n.toString(16).padStart(64, '0')}`);
export const authority = key(0xa11ce);
export const evaluator = key(0xe7a1);
export const contributor = key(0xc0de);
export const stranger = key(0x5bad);

const SLOTS = ['layer0.expert0', 'layer0.expert1'] as const;
const T0 = 1_760_000_000_000;
const addr = (s: Signer) => s.address.toLowerCase() as Address;

/** One network as a relay holds it: every block it serves, with the verdict stored beside it. */
export class Network {
  readonly blocks = new Map<Hash, Attested>();
  /** Hashes the lineage check asked for, in order. */
  readonly asked: Hash[] = [];
  index: ParamIndex = { meta: '' as Hash, version: '' as Hash, slots: {} };
  /** The signed genesis headers, meta first, as the app ships them in its genesis.json. */
  shipped: BlockHeader[] = [];

  private constructor(readonly genesis: Hash) {}

  /** A network founded by `founder`: its genesis meta block names it the authority and `evaluator` the evaluator, and one genesis block per slot. */
  static async found(founder: Signer = authority): Promise<Network> {
    const meta = await put(null, buildBlock({ type: 'meta', index: 0, name: 'model', depends_on: [], prev: null, payload: new Uint8Array([1]), meta: { arch: 'tiny', slots: SLOTS.map((name) => ({ name, type: 'expert' as const })), authorities: [addr(founder)], evaluators: [addr(evaluator)] }, created_at: T0 }, founder));
    const net = new Network(meta.hash);
    net.add(meta);
    net.index = { meta: meta.hash, version: meta.hash, slots: {} };
    for (const name of SLOTS) net.add(await net.slotBlock(name, null, founder));
    net.shipped = [...net.blocks.values()].map((b) => b.header);
    return net;
  }

  source: AttestedSource = async (hash) => {
    this.asked.push(hash);
    const b = this.blocks.get(hash);
    if (!b) throw new Error(`no block ${hash}`);
    return b;
  };

  /** Stores a block and, for a head of this network's meta or slots, moves the index to it. */
  add(b: { hash: Hash; attested: Attested }): Hash {
    this.blocks.set(b.hash, b.attested);
    const h = b.attested.header;
    if (h.type === 'meta') this.index = { ...this.index, meta: b.hash };
    else this.index = { ...this.index, slots: { ...this.index.slots, [h.name]: b.hash } };
    return b.hash;
  }

  /** A new version of `name` after its current head, signed by `signer` (for `author`, a session key's account). */
  slotBlock(name: string, verdict: ((block: Hash, base: Hash) => Promise<SignedVerdict>) | null, signer: Signer, author: Address = addr(signer)): Promise<{ hash: Hash; attested: Attested }> {
    const prev = this.index.slots[name] ?? null;
    const index = prev === null ? 0 : this.blocks.get(prev)!.header.index + 1;
    const built = buildBlock({ type: 'expert', index, name, depends_on: prev === null ? [this.index.meta] : [this.index.meta, prev], prev, payload: new Uint8Array([index, 7]), meta: { encoding: 'tensors-v1' }, created_at: T0 + index }, signer, author);
    return put(prev, built, verdict);
  }

  /** A verdict by `judge` that accepts `block` over `base` under this network's current meta block. */
  verdictBy(judge: Signer, accepted = true) {
    return (block: Hash, base: Hash): Promise<SignedVerdict> =>
      signVerdict(
        { v: 1, block, slot: this.blocks.get(base)!.header.name, base, meta: this.index.meta, accepted, baseline: 3.5, candidate: 3.4, tokens: 4096, sample: SAMPLE, evaluator: addr(judge), judged_at: T0 + 1000 },
        judge,
      );
  }
}

const SEED = '11'.repeat(32) as Hash;
const SAMPLE = { seed: SEED, commitment: sampleCommitment(SEED) };

async function put(prev: Hash | null, building: Promise<Block>, verdict?: ((block: Hash, base: Hash) => Promise<SignedVerdict>) | null): Promise<{ hash: Hash; attested: Attested }> {
  const { header } = await building;
  const hash = blockHash(header);
  return { hash, attested: { header, verdict: verdict && prev !== null ? await verdict(hash, prev) : null } };
}
