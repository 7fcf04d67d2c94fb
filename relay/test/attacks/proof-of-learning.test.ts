import { type Block, blockHash, buildBlock } from '@blyan/block';
import { type SignedVerdict, recoverVerdictSigner } from '@blyan/chain';
import { sparsifyDelta } from '@blyan/delta';
import { encodeSlotPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccountsFixture,
  type LoggedIn,
  accountsFixture,
  LEASE_MS,
  clock,
  contributionBody,
  forge,
  login,
  loginAssigned,
  newAccount,
  nudge,
  reopen,
  snapshot,
  submitContribution,
} from '../accounts-helpers.ts';
import { TINY, evaluator, submit } from '../helpers.ts';

const SLOT = 'layer1.expert0';
const plan = slotPlan(TINY).find((s) => s.name === SLOT)!;
const scaled = (p: Record<string, Float32Array>, k: number) => Object.fromEntries(Object.entries(p).map(([n, v]) => [n, v.map((x) => x * k)]));

interface Status {
  id: number;
  status: string;
  credit: number | null;
  verdict: SignedVerdict | null;
}

async function contribute(f: AccountsFixture, who: LoggedIn & { assignment: { slot: string; shard: { index: number } } }, seed: number) {
  const { slot } = who.assignment;
  const { base, delta } = nudge(f, slot, 0.05, seed);
  const { body, block } = await contributionBody(f, slot, base, delta, who.account, who.key, { shard: who.assignment.shard.index });
  const res = await submitContribution(f.app, body, who.cookie);
  expect(res.status).toBe(202);
  return { id: ((await res.json()) as { id: number }).id, block };
}

const status = async (f: AccountsFixture, id: number) => (await (await f.app.request(`/v1/contributions/${id}`)).json()) as Status;
const balance = (f: AccountsFixture, who: LoggedIn) => f.relay.accounts.book.balance(`user:${who.account}`);

/**
 * Makes every credit posting fail, as a full disk would, until the returned function heals it: the
 * relay's SQLite journal throws (embedded), or the shared database refuses journal rows (postgres+s3).
 */
async function failCredits(f: AccountsFixture): Promise<() => Promise<void>> {
  if (f.backend.name === 'embedded') {
    const { journal } = f.relay.accounts;
    const post = journal.post;
    journal.post = () => {
      throw new Error('injected: the disk filled up after the append');
    };
    return async () => {
      journal.post = post;
    };
  }
  await forge(f, [
    ["CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: the disk filled up after the append'; END $$"],
    ['CREATE TRIGGER disk_full BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION disk_full()'],
  ]);
  return () => forge(f, [['DROP TRIGGER disk_full ON journal'], ['DROP FUNCTION disk_full()']]);
}

describe('attacks on proof of learning', () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    f = await accountsFixture({ maxRelativeNorm: 10 });
  });
  afterAll(() => f.close());

  it('poison a head through POST /v1/blocks, then collect credit for repairing it through /v1/contributions', async () => {
    const attacker = await loginAssigned(f.app, SLOT);
    const base = f.genesis.find((b) => b.header.name === SLOT)!;
    const w = slotParams(plan, base.payload);
    const prev = blockHash(base.header);
    const poison: Block = await buildBlock(
      { type: 'expert', index: 1, name: SLOT, depends_on: [f.meta, prev], prev, payload: encodeSlotPayload(plan, scaled(w, -3), 'int8'), meta: { encoding: 'tensors-v1' }, created_at: clock.now },
      attacker.wallet,
    );
    const before = await snapshot(f);
    expect((await submit(f.app, poison)).status).toBe(403);
    expect(await snapshot(f)).toEqual(before);

    const repair = sparsifyDelta(scaled(w, -3), scaled(w, -3 * 0.901), 0.1);
    const onPoison = await contributionBody(f, SLOT, poison, repair, attacker.account, attacker.key, { shard: attacker.assignment.shard.index });
    const res = await submitContribution(f.app, onPoison.body, attacker.cookie);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('stale_base');

    const asContribution = sparsifyDelta(w, scaled(w, -3), 0.1);
    const { body } = await contributionBody(f, SLOT, base, asContribution, attacker.account, attacker.key, { shard: attacker.assignment.shard.index });
    const queued = await submitContribution(f.app, body, attacker.cookie);
    expect(queued.status).toBe(202);
    await f.judged();
    const judged = await status(f, ((await queued.json()) as { id: number }).id);
    expect(judged).toMatchObject({ status: 'rejected', credit: null, verdict: { accepted: false } });
    // On the tiny random model a 10 %-dense poison moves the loss by about one draw's noise: what holds on every draw is that it does not improve by δ.
    expect(judged.verdict!.baseline - judged.verdict!.candidate).toBeLessThan(f.relay.accounts.config.minImprovement);
    expect((await f.relay.index.paramIndex(f.meta))[SLOT]).toBe(prev);
    expect(await balance(f, attacker)).toBe(0);
  });

  it('contributions to a relay (on postgres+s3: to the workers) that holds no key its meta block names as evaluator', async () => {
    const mirror = await accountsFixture({}, newAccount());
    try {
      const config = (await (await mirror.app.request('/v1/contributions/config')).json()) as { judges: boolean; evaluator: string | null };
      if (mirror.backend.name !== 'embedded') {
        // A replica only queues, for the workers that hold the key the meta block names; a worker holding any other key gets nothing in.
        expect(config).toMatchObject({ judges: true, evaluator });
        const who = await loginAssigned(mirror.app, SLOT);
        const { id } = await contribute(mirror, who, 33);
        await mirror.judged();
        expect(await status(mirror, id)).toMatchObject({ status: 'rejected', reason: 'evaluation_failed', credit: null, verdict: null });
        expect((await mirror.relay.index.paramIndex(mirror.meta))[SLOT]).toBe(mirror.slots[SLOT]);
        expect(await balance(mirror, who)).toBe(0);
        return;
      }
      const who = await login(mirror.app);
      expect(config).toMatchObject({ judges: false, evaluator: null });
      const assigned = await mirror.app.request('/v1/assignment', { headers: { cookie: who.cookie } });
      expect(assigned.status).toBe(503);
      expect(((await assigned.json()) as { error: { code: string } }).error.code).toBe('no_evaluator');
      const { base, delta } = nudge(mirror, SLOT, 0.05);
      const { body } = await contributionBody(mirror, SLOT, base, delta, who.account, who.key);
      const before = await snapshot(mirror);
      const res = await submitContribution(mirror.app, body, who.cookie);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect([res.status, json.error.code]).toEqual([503, 'no_evaluator']);
      expect(json.error.message).toMatch(/evaluator/);
      expect(await snapshot(mirror)).toEqual(before);
    } finally {
      await mirror.close();
    }
  });
});

describe('attacks on credit for accepted contributions', () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    // δ below any change: whatever is submitted is accepted, which is all these attacks need.
    f = await accountsFixture({ minImprovement: -1, maxRelativeNorm: 10 });
  });
  afterAll(() => f.close());

  it('credit that no named evaluator signed for', async () => {
    const config = (await (await f.app.request('/v1/contributions/config')).json()) as { judges: boolean; evaluator: string | null };
    expect(config).toMatchObject({ judges: true, evaluator });
    const who = await loginAssigned(f.app, SLOT);
    const { id, block } = await contribute(f, who, 31);
    await f.judged();
    const s = await status(f, id);
    expect(s.status).toBe('accepted');
    const v = s.verdict!;
    expect(v).toMatchObject({ accepted: true, block: blockHash(block.header), evaluator });
    expect(await recoverVerdictSigner(v)).toBe(evaluator);
    const meta = (await f.relay.index.block(f.meta))!.header;
    expect(meta.type === 'meta' && meta.meta.evaluators).toContain(evaluator);
    expect(await (await f.app.request(`/v1/blocks/${blockHash(block.header)}/verdict`)).json()).toEqual(v);
    expect(s.credit).toBe(Math.max(1, Math.round((v.baseline - v.candidate) * f.relay.accounts.config.creditPerNat)));
    expect(await balance(f, who)).toBe(s.credit);
  });

  it('a failure after the block is appended marks the contribution rejected and loses its credit', async () => {
    const who = await loginAssigned(f.app, 'layer0.expert3');
    const heal = await failCredits(f);
    let id: number;
    let block: Block;
    try {
      ({ id, block } = await contribute(f, who, 32));
      await f.judged();
    } finally {
      await heal();
    }
    expect((await f.relay.index.paramIndex(f.meta))['layer0.expert3']).toBe(blockHash(block.header));
    expect(await status(f, id)).toMatchObject({ status: 'appending', credit: null });
    await reopen(f);
    // On postgres+s3 the job is a worker's until its lease runs out; then a worker takes it again.
    clock.now += LEASE_MS;
    await f.judged();
    const s = await status(f, id);
    expect(s).toMatchObject({ status: 'accepted', verdict: { accepted: true, block: blockHash(block.header) } });
    expect(await balance(f, who)).toBe(s.credit);
    expect(await f.relay.accounts.book.trialBalance()).toMatchObject({ total: 0, unbalanced: [] });
  });
});
