import { type Block, type MetaBlockMeta, blockHash, buildBlock } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../src/memory.ts';
import type { RuleOptions } from '../src/rules.ts';
import { signVerdict } from '../src/verdict.ts';
import { acceptedVerdict, judge } from './fixtures.ts';

const genesis = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const miner = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
const opts: RuleOptions = { maxPayloadBytes: 1 << 20 };
const trust = { authorities: [genesis.address.toLowerCase() as `0x${string}`], evaluators: [judge.address.toLowerCase() as `0x${string}`] };
const slots: MetaBlockMeta['slots'] = [
  { name: 'layer0.expert0', type: 'expert' },
  { name: 'layer0.expert1', type: 'expert' },
  { name: 'layer0.attn', type: 'dense' },
];

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed * 13) & 0xff);

function meta(prev: Block | null, arch = 'arch-1', s = slots) {
  return buildBlock(
    { type: 'meta', index: prev ? prev.header.index + 1 : 0, name: 'model', depends_on: prev ? [blockHash(prev.header)] : [], prev: prev ? blockHash(prev.header) : null, payload: bytes(100, 1), meta: { arch, slots: s, ...trust } },
    genesis,
  );
}

function param(m: Block, name: string, prev: Block | null, seed = 0, signer = genesis) {
  const deps = [blockHash(m.header), ...(prev ? [blockHash(prev.header)] : [])];
  return buildBlock(
    { type: name.endsWith('attn') ? 'dense' : 'expert', index: prev ? prev.header.index + 1 : 0, name, depends_on: deps, prev: prev ? blockHash(prev.header) : null, payload: bytes(5000, seed), tile_size: 4096, meta: { encoding: 'tensors-v1' } },
    signer,
  );
}

/** An accepted verdict for `b`, which replaces `base` under meta block `m`. */
const verdictFor = (b: Block, m: Block, base: Block) =>
  acceptedVerdict({ block: blockHash(b.header), slot: b.header.name, base: blockHash(base.header), meta: blockHash(m.header) }, blockHash(m.header));

async function ok(chain: MemoryChain, b: Block) {
  const r = await chain.submit(b, opts);
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r;
}

describe('chain rules', () => {
  let chain: MemoryChain;
  let m0: Block;
  beforeEach(async () => {
    chain = new MemoryChain();
    m0 = await meta(null);
    await ok(chain, m0);
  });

  it('tracks heads and the full version history of every slot', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    const e1 = await param(m0, 'layer0.expert0', e0, 2);
    const a0 = await param(m0, 'layer0.attn', null, 3);
    for (const b of [e0, e1, a0]) await ok(chain, b);
    const version = chain.versionOf(blockHash(m0.header))!;
    expect(version).toBe(blockHash(m0.header));
    expect(chain.paramIndex()).toEqual({ 'layer0.expert0': blockHash(e1.header), 'layer0.attn': blockHash(a0.header) });
    expect(chain.history(version, 'layer0.expert0').map((v) => v.hash)).toEqual([blockHash(e0.header), blockHash(e1.header)]);
  });

  it('answers what a slot was at an older meta block', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    await ok(chain, e0);
    const m1 = await meta(m0);
    await ok(chain, m1);
    const e1 = await param(m1, 'layer0.expert0', e0, 2);
    await ok(chain, e1);
    expect(chain.versionOf(blockHash(m1.header))).toBe(blockHash(m0.header));
    expect(chain.at(blockHash(m0.header), 'layer0.expert0')).toBe(blockHash(e0.header));
    expect(chain.at(blockHash(m1.header), 'layer0.expert0')).toBe(blockHash(e1.header));
    expect(chain.at(blockHash(m0.header), 'layer0.expert1')).toBeNull();
  });

  it('a meta block with a new architecture forks a new model version; the old stays readable', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    await ok(chain, e0);
    const m1 = await meta(m0, 'arch-2', [{ name: 'layer0.expert0', type: 'expert' }]);
    const r = await ok(chain, m1);
    expect(r.startsVersion).toBe(true);
    const v2 = blockHash(m1.header);
    expect(chain.paramIndex()).toEqual({});
    const fresh = await param(m1, 'layer0.expert0', null, 5);
    await ok(chain, fresh);
    expect(chain.paramIndex(v2)).toEqual({ 'layer0.expert0': blockHash(fresh.header) });
    expect(chain.paramIndex(blockHash(m0.header))).toEqual({ 'layer0.expert0': blockHash(e0.header) });
  });

  it('refuses a stale prev with 409 and leaves the state unchanged', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    const e1 = await param(m0, 'layer0.expert0', e0, 2);
    await ok(chain, e0);
    await ok(chain, e1);
    const late = await param(m0, 'layer0.expert0', e0, 3);
    const before = chain.paramIndex();
    expect(await chain.submit(late, opts)).toMatchObject({ ok: false, status: 409, code: 'stale_prev' });
    const second = await param(m0, 'layer0.expert0', null, 4);
    expect(await chain.submit(second, opts)).toMatchObject({ ok: false, status: 409, code: 'stale_prev' });
    expect(chain.paramIndex()).toEqual(before);
    expect(chain.size).toBe(3);
  });

  it('refuses bad blocks, each with its own code, and changes nothing', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    const cases: [string, () => Promise<Block>, number, string][] = [
      ['undeclared slot', () => param(m0, 'layer0.expert9', null), 422, 'undeclared_slot'],
      ['unknown dependency', async () => param(await meta(null, 'elsewhere'), 'layer0.expert0', null), 422, 'unknown_dependency'],
      ['meta from a stranger', () => buildBlock({ type: 'meta', index: 1, name: 'model', depends_on: [blockHash(m0.header)], prev: blockHash(m0.header), payload: bytes(1, 1), meta: { arch: 'arch-1', slots, ...trust } }, miner), 403, 'not_authorized'],
      ['second genesis', () => meta(null), 409, 'stale_prev'],
      ['tampered payload', () => Promise.resolve(e0).then((b) => ({ ...b, payload: bytes(5000, 9) })), 422, 'payload_hash_mismatch'],
      ['truncated payload', () => Promise.resolve(e0).then((b) => ({ ...b, payload: b.payload.subarray(1) })), 422, 'payload_size_mismatch'],
      ['tampered header', () => Promise.resolve(e0).then((b) => ({ ...b, header: { ...b.header, created_at: b.header.created_at + 1 } })), 403, 'wrong_author'],
      ['garbage signature', () => Promise.resolve(e0).then((b) => ({ ...b, header: { ...b.header, sig: `0x${'11'.repeat(65)}` as const } })), 401, 'bad_signature'],
      ['wrong author', () => param(m0, 'layer0.expert0', null, 1).then((b) => ({ ...b, header: { ...b.header, author: miner.address.toLowerCase() as `0x${string}` } })), 403, 'wrong_author'],
      ['a stranger moving a head', () => param(m0, 'layer0.expert0', null, 1, miner), 403, 'not_authorized'],
      ['wrong index', () => Promise.resolve(e0).then((b) => buildBlock({ ...b.header, type: 'expert', meta: { encoding: 'tensors-v1' }, index: 4, payload: b.payload, tile_size: 4096 }, miner)), 422, 'bad_index'],
      ['oversize', () => buildBlock({ type: 'expert', index: 0, name: 'layer0.expert0', depends_on: [blockHash(m0.header)], prev: null, payload: new Uint8Array((1 << 20) + 1), meta: { encoding: 'tensors-v1' } }, miner), 413, 'payload_too_large'],
      ['two meta deps', () => Promise.resolve(e0).then(async (b) => { const m1 = await meta(m0); await ok(chain, m1); return buildBlock({ type: 'expert', index: 0, name: b.header.name, depends_on: [blockHash(m0.header), blockHash(m1.header)], prev: null, payload: b.payload, meta: { encoding: 'tensors-v1' } }, miner); }), 422, 'bad_dependency'],
    ];
    for (const [what, make, status, code] of cases) {
      const b = await make();
      const size = chain.size;
      const index = chain.paramIndex();
      const r = await chain.submit(b, opts);
      expect(r, what).toMatchObject({ ok: false, status, code });
      expect(chain.size, what).toBe(size);
      expect(chain.paramIndex(), what).toEqual(index);
    }
  });

  it('refuses a block it already holds', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    await ok(chain, e0);
    expect(await chain.submit(e0, opts)).toMatchObject({ ok: false, status: 409, code: 'duplicate' });
  });

  it('accepts a block signed by a delegated session key only while the delegation holds, and only with a verdict', async () => {
    const session = privateKeyToAccount('0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6');
    const e0 = await param(m0, 'layer0.expert1', null, 1);
    await ok(chain, e0);
    const b = await buildBlock({ type: 'expert', index: 1, name: 'layer0.expert1', depends_on: [blockHash(m0.header), blockHash(e0.header)], prev: blockHash(e0.header), payload: bytes(10, 1), meta: { encoding: 'tensors-v1' } }, session, miner.address);
    const v = await signVerdict(verdictFor(b, m0, e0), judge);
    expect(await chain.submit(b, opts, v)).toMatchObject({ ok: false, code: 'wrong_author' });
    let live = true;
    const delegated = { ...opts, isDelegate: (author: string, signer: string) => live && author === miner.address.toLowerCase() && signer === session.address.toLowerCase() };
    live = false;
    expect(await chain.submit(b, delegated, v)).toMatchObject({ ok: false, code: 'wrong_author' });
    live = true;
    expect(await chain.submit(b, delegated)).toMatchObject({ ok: false, status: 403, code: 'not_authorized' });
    expect(await chain.submit(b, delegated, v)).toMatchObject({ ok: true, by: 'verdict', verdict: v });
  });

  it("an authority's session key is not the authority: it needs a verdict like anyone else", async () => {
    const session = privateKeyToAccount('0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6');
    const b = await buildBlock({ type: 'expert', index: 0, name: 'layer0.expert1', depends_on: [blockHash(m0.header)], prev: null, payload: bytes(10, 1), meta: { encoding: 'tensors-v1' } }, session, genesis.address);
    const delegated = { ...opts, isDelegate: () => true };
    expect(await chain.submit(b, delegated)).toMatchObject({ ok: false, status: 403, code: 'not_authorized' });
    const meta1 = await buildBlock({ type: 'meta', index: 1, name: 'model', depends_on: [blockHash(m0.header)], prev: blockHash(m0.header), payload: bytes(1, 1), meta: { arch: 'arch-1', slots, ...trust } }, session, genesis.address);
    expect(await chain.submit(meta1, delegated)).toMatchObject({ ok: false, status: 403, code: 'not_authorized' });
  });

  it('checks the header signature before hashing the payload', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    const forged = { ...e0, header: { ...e0.header, sig: `0x${'11'.repeat(65)}` as const }, payload: bytes(5000, 9) };
    expect(await chain.submit(forged, opts)).toMatchObject({ status: 401, code: 'bad_signature' });
  });

  it('runs the payload check last, as 422 payload_shape, with the meta block that declares the slot', async () => {
    const seen: string[] = [];
    const checkPayload: RuleOptions['checkPayload'] = async (b, m) => {
      seen.push(`${b.header.name}@${m.meta.arch}`);
      return b.payload.length === 5000 ? 'payload is the wrong shape' : null;
    };
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    expect(await chain.submit(e0, { ...opts, checkPayload })).toMatchObject({ ok: false, status: 422, code: 'payload_shape', message: 'payload is the wrong shape' });
    expect(seen).toEqual(['layer0.expert0@arch-1']);
    expect(await chain.submit(await param(m0, 'layer0.expert0', null, 1, miner), { ...opts, checkPayload })).toMatchObject({ code: 'not_authorized' });
    expect(seen).toHaveLength(1);
  });

  it('dependencies must already exist, so the DAG cannot hold a cycle', async () => {
    const e0 = await param(m0, 'layer0.expert0', null, 1);
    const e1 = await param(m0, 'layer0.expert0', e0, 2);
    expect(await chain.submit(e1, opts)).toMatchObject({ ok: false, code: 'unknown_dependency' });
    await ok(chain, e0);
    await ok(chain, e1);
  });
});
