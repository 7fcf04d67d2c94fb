import type { Address } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, type LoggedIn, ORIGIN, accountsFixture, clock, login, postJson } from '../accounts-helpers.ts';
import { counter } from '../data-helpers.ts';
import { authority } from '../helpers.ts';

const HOUR = 3600_000;
const POOL = 10_000;

let f: AccountsFixture;
beforeAll(async () => {
  f = await accountsFixture({ rateLimit: { max: 50, windowMs: 60_000 } });
});
afterAll(() => f.close());

/** A report body for `who`, signed by `signer` (the session key unless said). */
async function signedReport(who: LoggedIn, experts: { block: string; tokens: number }[], signer: { signMessage(a: { message: string }): Promise<string> } = who.key) {
  const text = JSON.stringify({ account: who.account, origin: ORIGIN, created_at: clock.now, experts });
  return { report: text, signature: await signer.signMessage({ message: text }) };
}

const balance = async (a: Address) => ((await (await f.app.request(`/v1/accounts/${a}/history`)).json()) as { balance: number }).balance;
const trialBalance = async () => ((await (await f.app.request('/v1/leaderboard')).json()) as { trial_balance: { total: number; unbalanced: number[] } }).trial_balance;
const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

describe('attacks on usage credit', () => {
  it('usage reports from 400 throwaway accounts naming one block move at most one pool (10,000 units), and the trial balance stays 0', async () => {
    clock.now += HOUR;
    const block = f.slots['layer0.expert0']!;
    const before = await balance(authority);
    let accepted = 0;
    for (let i = 0; i < 400; i++) {
      const who = await login(f.app);
      const res = await postJson(f.app, '/v1/usage', await signedReport(who, [{ block, tokens: 100_000 }]), who.cookie);
      if (res.status === 201) accepted++;
    }
    expect(accepted).toBe(400);
    clock.now += HOUR;
    const moved = (await balance(authority)) - before;
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(POOL);
    expect(await trialBalance()).toMatchObject({ total: 0, unbalanced: [] });
  }, 120_000);

  it('a usage report signed by the wallet instead of the session key: 403, nothing recorded', async () => {
    const who = await login(f.app);
    const db = await counter(f);
    try {
      const rows = () => db.count('SELECT COUNT(*) AS n FROM usage_reports WHERE account = $1', [who.account]);
      const before = await rows();
      const r = await postJson(f.app, '/v1/usage', await signedReport(who, [{ block: f.slots['layer1.expert1']!, tokens: 10 }], who.wallet), who.cookie);
      expect([r.status, await code(r)]).toEqual([403, 'bad_signature']);
      expect(await rows()).toBe(before);
      const ok = await postJson(f.app, '/v1/usage', await signedReport(who, [{ block: f.slots['layer1.expert1']!, tokens: 10 }]), who.cookie);
      expect(ok.status).toBe(201);
      expect(await rows()).toBe(before + 1);
    } finally {
      await db.close();
    }
  });

  it('POST /v1/usage declaring a 2 MB body: 413 before reading it', async () => {
    const declared = await f.app.request('/v1/usage', { method: 'POST', body: new Uint8Array(2 << 20), headers: { 'content-type': 'application/json', 'content-length': String(2 << 20) } });
    expect(declared.status).toBe(413);
  });
});
