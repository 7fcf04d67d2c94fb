import { type Block, blockHash, buildBlock } from '@blyan/block';
import { privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../src/memory.ts';
import type { RuleOptions } from '../src/rules.ts';
import { signVerdict } from '../src/verdict.ts';
import { acceptedVerdict, judge } from './fixtures.ts';

const genesis = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const opts: RuleOptions = { maxPayloadBytes: 1 << 20 };
const trust = { authorities: [genesis.address.toLowerCase() as `0x${string}`], evaluators: [judge.address.toLowerCase() as `0x${string}`] };
const text = (s: string) => new TextEncoder().encode(s);

let chain: MemoryChain;
let m0: Block;
const metaHash = () => blockHash(m0.header);

/** A block of `type` named `name` after `prev` (null: the first of its slot), signed by the evaluator key itself. */
function next(type: 'dataset' | 'expert', name: string, prev: Block | null): Promise<Block> {
  const p = prev === null ? null : blockHash(prev.header);
  return buildBlock(
    { type, index: prev === null ? 0 : prev.header.index + 1, name, depends_on: p === null ? [metaHash()] : [metaHash(), p], prev: p, payload: text(`${name} ${prev?.header.index ?? -1}`), ...(type === 'dataset' ? { meta: { encoding: 'text-utf8' } } : { meta: { encoding: 'tensors-v1' } }) },
    judge,
  );
}

const verdict = (b: Block, base: string) => signVerdict(acceptedVerdict({ block: blockHash(b.header), slot: b.header.name, base: base as never, meta: metaHash() }, metaHash()), judge);

beforeEach(async () => {
  chain = new MemoryChain();
  m0 = await buildBlock({ type: 'meta', index: 0, name: 'model', depends_on: [], prev: null, payload: text('meta'), meta: { arch: 'a', slots: [{ name: 'layer0.expert0', type: 'expert' }], ...trust } }, genesis);
  expect((await chain.submit(m0, opts)).ok).toBe(true);
});

describe("chain D: the evaluator's verdict appends dataset blocks", () => {
  it("a dataset's first block carries a verdict on the meta block; the next one a verdict on the head it replaces", async () => {
    const d0 = await next('dataset', 'notes', null);
    expect(await chain.submit(d0, opts)).toMatchObject({ ok: false, code: 'not_authorized' });
    expect(await chain.submit(d0, opts, await verdict(d0, 'ab'.repeat(32)))).toMatchObject({ ok: false, code: 'bad_verdict' });
    expect(await chain.submit(d0, opts, await verdict(d0, metaHash()))).toMatchObject({ ok: true, by: 'verdict', slot: 'D/notes' });
    const d1 = await next('dataset', 'notes', d0);
    expect(await chain.submit(d1, opts, await verdict(d1, metaHash()))).toMatchObject({ ok: false, code: 'bad_verdict' });
    expect(await chain.submit(d1, opts, await verdict(d1, blockHash(d0.header)))).toMatchObject({ ok: true, by: 'verdict' });
  });

  it('a verdict on the wrong base is refused with the base it must name', async () => {
    const d0 = await next('dataset', 'notes', null);
    const wrong = 'ab'.repeat(32);
    expect(await chain.submit(d0, opts, await verdict(d0, wrong))).toMatchObject({ ok: false, code: 'bad_verdict', message: `verdict must name base ${metaHash()}, it names ${wrong}` });
    expect((await chain.submit(d0, opts, await verdict(d0, metaHash()))).ok).toBe(true);
    const d1 = await next('dataset', 'notes', d0);
    expect(await chain.submit(d1, opts, await verdict(d1, metaHash()))).toMatchObject({ ok: false, code: 'bad_verdict', message: `verdict must name base ${blockHash(d0.header)}, it names ${metaHash()}` });
  });

  it("the first block of a parameter slot stays the authorities' alone, whatever the verdict names", async () => {
    const e0 = await next('expert', 'layer0.expert0', null);
    expect(await chain.submit(e0, opts, await verdict(e0, metaHash()))).toMatchObject({ ok: false, code: 'bad_verdict' });
  });
});
