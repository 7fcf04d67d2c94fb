import { type Block, blockHash } from '@blyan/block';
import { type SignedVerdict, type Verdict, sampleCommitment, signVerdict } from '@blyan/chain';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, evaluator, evaluatorAccount, fixture, miner, paramBlock, storeState } from '../helpers.ts';

let f: Fixture;
let block: Block;
const SLOT = 'layer0.expert1';

beforeEach(async () => {
  f = await fixture();
  const prev = f.genesis.find((b) => b.header.name === SLOT)!;
  block = await paramBlock({ meta: f.meta, name: SLOT, prev, seed: 11, signer: miner });
});
afterEach(() => f.close());

/** An accepted verdict for `block`, as the evaluator would sign it; `patch` bends one field. */
function verdictFor(b: Block, patch: Partial<Verdict> = {}): Verdict {
  const seed = blockHash(b.header);
  return {
    v: 1,
    block: blockHash(b.header),
    slot: b.header.name,
    base: b.header.prev!,
    meta: f.meta,
    accepted: true,
    baseline: 3.71,
    candidate: 3.69,
    tokens: 2048,
    sample: { commitment: sampleCommitment(seed), seed },
    evaluator,
    judged_at: 1_700_000_000_000,
    ...patch,
  };
}

/** Submits `block` with `verdict` through the Ledger (the evaluation worker's path): 403 bad_verdict, nothing stored. */
async function refused(verdict: SignedVerdict): Promise<string> {
  const before = await storeState(f);
  const r = await f.relay.ledger.submit(block, verdict);
  expect(r).toMatchObject({ ok: false, status: 403, code: 'bad_verdict' });
  expect(await storeState(f)).toEqual(before);
  expect(await f.relay.index.block(blockHash(block.header))).toBeUndefined();
  return r.ok ? '' : r.message;
}

describe('attacks on verdicts (Ledger.submit(block, verdict))', () => {
  it("a contributor's block with no verdict: 403 not_authorized", async () => {
    expect(await f.relay.ledger.submit(block)).toMatchObject({ ok: false, status: 403, code: 'not_authorized' });
  });

  it('a verdict signed by a key the meta block does not name as evaluator', async () => {
    const outsider = privateKeyToAccount(generatePrivateKey());
    const v = await signVerdict(verdictFor(block, { evaluator: outsider.address.toLowerCase() as `0x${string}` }), outsider);
    expect(await refused(v)).toMatch(/is not an evaluator of meta block/);
  });

  it("a forged verdict: names the evaluator, signed by another key", async () => {
    const v = await signVerdict(verdictFor(block), privateKeyToAccount(generatePrivateKey()));
    expect(await refused(v)).toMatch(/signed by 0x/);
  });

  it("a genuine verdict edited after signing (candidate loss lowered)", async () => {
    const v = await signVerdict(verdictFor(block), evaluatorAccount);
    await refused({ ...v, candidate: 1.0 });
  });

  it("the evaluator's verdict for another block, replayed onto this one", async () => {
    const other = await paramBlock({ meta: f.meta, name: SLOT, prev: f.genesis.find((b) => b.header.name === SLOT)!, seed: 12, signer: miner });
    expect(await refused(await signVerdict(verdictFor(other), evaluatorAccount))).toMatch(/judges block/);
  });

  it("the evaluator's verdict that rejected the block", async () => {
    expect(await refused(await signVerdict(verdictFor(block, { accepted: false }), evaluatorAccount))).toMatch(/rejected/);
  });

  it("the evaluator's verdict whose revealed seed does not open its commitment", async () => {
    const v = await signVerdict(verdictFor(block, { sample: { commitment: sampleCommitment(f.meta), seed: blockHash(block.header) } }), evaluatorAccount);
    expect(await refused(v)).toMatch(/does not open/);
  });

  it("the evaluator's verdict judged under another meta block", async () => {
    expect(await refused(await signVerdict(verdictFor(block, { meta: blockHash(block.header) }), evaluatorAccount))).toMatch(/judged under meta block/);
  });
});

describe('verdicts are stored and served', () => {
  it("an accepted verdict lets the contributor's block in, and the relay serves it with the block and in the slot's history", async () => {
    const v = await signVerdict(verdictFor(block), evaluatorAccount);
    expect(await f.relay.ledger.submit(block, v)).toMatchObject({ ok: true, created: true });
    const hash = blockHash(block.header);
    const served = await f.app.request(`/v1/blocks/${hash}/verdict`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual(v);
    expect((await (await f.app.request(`/v1/blocks/${hash}`)).json()).verdict).toEqual(v);
    const { history } = await (await f.app.request(`/v1/params/${SLOT}/history`)).json();
    expect(history.map((e: { verdict: unknown }) => e.verdict)).toEqual([null, v]);
    const { blocks } = await (await f.app.request(`/v1/blocks?after=${f.genesis.length}`)).json();
    expect(blocks).toMatchObject([{ hash, verdict: v }]);
  });

  it("GET /v1/blocks/:hash/verdict is 404 no_verdict for an authority's block and 404 not_found for an unknown one", async () => {
    const genesisBlock = await f.app.request(`/v1/blocks/${f.slots[SLOT]}/verdict`);
    expect(genesisBlock.status).toBe(404);
    expect((await genesisBlock.json()).error.code).toBe('no_verdict');
    const unknown = await f.app.request(`/v1/blocks/${'0'.repeat(64)}/verdict`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('not_found');
  });
});
