import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccountsFixture,
  type LoggedIn,
  accountsFixture,
  assignment,
  clock,
  contributionBody,
  forge,
  loginAssigned,
  nudge,
  snapshot,
  submitContribution,
} from '../accounts-helpers.ts';

let f: AccountsFixture;
const SLOT = 'layer0.expert1';

beforeAll(async () => {
  f = await accountsFixture({ maxRelativeNorm: 10 });
});
afterAll(() => f.close());

/** Submits `body` as `who` and expects the refusal `status`/`code` with chain, ledger and contributions unchanged. */
async function refused(body: Uint8Array, who: LoggedIn, status: number, code: string) {
  const before = await snapshot(f);
  const res = await submitContribution(f.app, body, who.cookie);
  const json = (await res.json()) as { error?: { code: string; message: string } };
  expect([res.status, json.error?.code], JSON.stringify(json)).toEqual([status, code]);
  expect(json.error!.message.length).toBeGreaterThan(20);
  expect(await snapshot(f)).toEqual(before);
}

async function bodyFor(who: LoggedIn, slot: string, density: number, opts: { seed?: number; shard?: number; createdAt?: number } = {}) {
  const { base, delta } = nudge(f, slot, density, opts.seed);
  return contributionBody(f, slot, base, delta, who.account, who.key, { shard: opts.shard ?? 0, ...(opts.createdAt !== undefined && { createdAt: opts.createdAt }) });
}

describe('attacks on contribution intake', () => {
  it('contribution for a slot other than the assigned one', async () => {
    const who = await loginAssigned(f.app, SLOT);
    const { body } = await bodyFor(who, 'layer1.expert2', 0.05, { shard: who.assignment.shard.index });
    await refused(body, who, 403, 'not_assigned');
  });

  it('contribution naming a shard other than the assigned one', async () => {
    const who = await loginAssigned(f.app, SLOT);
    const { index, of } = who.assignment.shard;
    const { body } = await bodyFor(who, SLOT, 0.05, { shard: (index + 1) % of });
    await refused(body, who, 403, 'wrong_shard');
  });

  it('delta changing 25 % and 66 % of the expert', async () => {
    for (const density of [0.25, 0.66]) {
      const who = await loginAssigned(f.app, SLOT);
      const { body } = await bodyFor(who, SLOT, density, { shard: who.assignment.shard.index });
      await refused(body, who, 422, 'too_dense');
    }
  });

  it('the same body resubmitted', async () => {
    const who = await loginAssigned(f.app, SLOT);
    const { body } = await bodyFor(who, SLOT, 0.05, { seed: 2, shard: who.assignment.shard.index });
    expect((await submitContribution(f.app, body, who.cookie)).status).toBe(202);
    await refused(body, who, 409, 'duplicate');
  });

  it('the same delta signed again by another account under a new timestamp', async () => {
    const first = await loginAssigned(f.app, SLOT);
    const a = await bodyFor(first, SLOT, 0.05, { seed: 3, shard: first.assignment.shard.index });
    expect((await submitContribution(f.app, a.body, first.cookie)).status).toBe(202);
    await f.judged();
    const second = await loginAssigned(f.app, SLOT);
    const b = await bodyFor(second, SLOT, 0.05, { seed: 3, shard: second.assignment.shard.index, createdAt: clock.now + 1 });
    await refused(b.body, second, 409, 'duplicate');
  });

  it('more queued evaluations than an account may have', async () => {
    const who = await loginAssigned(f.app, SLOT);
    const queued: number[] = [];
    for (let seed = 10; queued.length < f.relay.accounts.config.maxQueued; seed++) {
      const a = await assignment(f.app, who);
      const { body } = await bodyFor(who, a.slot, 0.05, { seed, shard: a.shard.index });
      const res = await submitContribution(f.app, body, who.cookie);
      expect(res.status).toBe(202);
      queued.push(((await res.json()) as { id: number }).id);
    }
    await f.judged();
    // The state a busy evaluation worker leaves: the account's contributions still waiting their turn.
    await forge(f, queued.map((id) => ["UPDATE contributions SET status = 'queued', reason = NULL, detail = NULL, decided_at = NULL WHERE id = ?", id]));
    const a = await assignment(f.app, who);
    const { body } = await bodyFor(who, a.slot, 0.05, { seed: 99, shard: a.shard.index });
    await refused(body, who, 429, 'queue_full');
  });
});
