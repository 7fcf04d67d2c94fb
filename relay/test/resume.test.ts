import { blockHash } from '@blyan/block';
import { sparsifyDelta } from '@blyan/delta';
import { slotParams, slotPlan } from '@blyan/model/blocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, LEASE_MS, accountsFixture, clock, contributionBody, forge, loginAssigned, reopen, submitContribution } from './accounts-helpers.ts';
import { TINY } from './helpers.ts';

let f: AccountsFixture;
beforeAll(async () => {
  // δ below any change: whatever is submitted is accepted, which is all this test needs.
  f = await accountsFixture({ minImprovement: -1, maxRelativeNorm: 10 });
});
afterAll(() => f.close());

describe('contributions across a restart', () => {
  it('finishes a contribution whose block was appended but whose credit was not posted, exactly once', async () => {
    const name = 'layer1.expert3';
    const alice = await loginAssigned(f.app, name);
    const base = f.genesis.find((b) => b.header.name === name)!;
    const before = slotParams(slotPlan(TINY).find((s) => s.name === name)!, base.payload);
    const after = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.map((x, i) => (i % 5 === 0 ? x + 0.01 : x))]));
    const { body, block } = await contributionBody(f, name, base, sparsifyDelta(before, after, 0.1), alice.account, alice.key, { shard: alice.assignment.shard.index });
    const res = await submitContribution(f.app, body, alice.cookie);
    const { id } = (await res.json()) as { id: number };
    await f.judged();
    const accepted = (await f.relay.accounts.contributions.get(id))!;
    expect(accepted.status).toBe('accepted');
    const counts = await f.relay.index.counts();

    // The state a crash between the append and the credit leaves behind (on postgres+s3: a worker killed there, its job's lease still running).
    await forge(f, [
      ["UPDATE contributions SET status = 'appending', credit = NULL, decided_at = NULL WHERE id = ?", id],
      ["DELETE FROM postings WHERE journal_id IN (SELECT id FROM journal WHERE kind = 'contribution' AND ref = ?)", String(id)],
      ["DELETE FROM journal WHERE kind = 'contribution' AND ref = ?", String(id)],
    ]);
    await reopen(f);
    await f.judged();
    expect((await f.relay.accounts.contributions.get(id))!.status).toBe(f.backend.name === 'embedded' ? 'accepted' : 'appending');
    // Once the dead worker's lease has run out, a worker takes the job again.
    clock.now += LEASE_MS;
    await f.judged();
    const resumed = (await f.relay.accounts.contributions.get(id))!;
    expect(resumed).toMatchObject({ status: 'accepted', credit: accepted.credit, block: blockHash(block.header) });
    expect(await f.relay.index.counts()).toEqual(counts);
    expect(await f.relay.accounts.book.balance(`user:${alice.account}`)).toBe(accepted.credit);
    expect(await f.relay.accounts.book.trialBalance()).toMatchObject({ total: 0, entries: 1, unbalanced: [] });
  });
});
