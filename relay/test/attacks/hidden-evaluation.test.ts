import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Block, type Hash, blockHash } from '@blyan/block';
import type { SignedVerdict } from '@blyan/chain';
import { corpusDocs } from '../../src/corpus.ts';
import { hiddenPassages } from '../../src/contributions/eval-pool.ts';
import { drawWindows, freshSample } from '../../src/contributions/sample.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, type LoggedIn, accountsFixture, accountsRow, contributionBody, forge, loginAssigned, nudge, submitContribution } from '../accounts-helpers.ts';

let f: AccountsFixture;
const SLOT = 'layer0.expert2';

beforeAll(async () => {
  f = await accountsFixture({ maxRelativeNorm: 10 });
});
afterAll(() => f.close());

interface Status {
  id: number;
  status: string;
  commitment: string;
  verdict: SignedVerdict | null;
}

const status = async (id: number) => (await (await f.app.request(`/v1/contributions/${id}`)).json()) as Status;

/** A contribution on SLOT by a fresh account, queued; returns its id, the answer at intake and the candidate block. */
async function contribute(seed: number): Promise<{ id: number; queued: Status; block: Block; who: LoggedIn }> {
  const who = await loginAssigned(f.app, SLOT);
  const { base, delta } = nudge(f, SLOT, 0.05, seed);
  const { body, block } = await contributionBody(f, SLOT, base, delta, who.account, who.key, { shard: who.assignment.shard.index });
  const res = await submitContribution(f.app, body, who.cookie);
  expect(res.status).toBe(202);
  const queued = (await res.json()) as Status;
  return { id: queued.id, queued, block, who };
}

/** The evaluation secret where the back-end keeps it: a file only its owner reads (embedded), or the replicas' shared database. */
async function evalSecret(): Promise<Buffer> {
  if (f.backend.backends.database !== undefined) return (await accountsRow<{ secret: Buffer }>(f, 'SELECT secret FROM eval_secret')).secret;
  expect((await stat(join(f.dir, 'eval.secret'))).mode & 0o777).toBe(0o600);
  return readFile(join(f.dir, 'eval.secret'));
}

const sha256 = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

describe('attacks on the hidden evaluation', () => {
  it('training on the fixed windows the relay scores every time', async () => {
    const a = await contribute(21);
    const b = await contribute(22);
    await f.judged();
    const [va, vb] = [(await status(a.id)).verdict!, (await status(b.id)).verdict!];
    expect(va.sample.seed).not.toBe(vb.sample.seed);
    const ctx = await f.relay.accounts.evaluator.context(f.meta);
    const starts = (seed: string) => drawWindows(seed as Hash, ctx.stream.length, ctx.length, f.relay.accounts.config.eval.windows).map((w) => w.start);
    expect(starts(va.sample.seed)).not.toEqual(starts(vb.sample.seed));
    const heads = await f.relay.index.paramIndex(f.meta);
    const twice = await Promise.all([1, 2].map(() => f.relay.accounts.evaluator.judge(ctx, heads, SLOT, a.block.payload, freshSample().seed)));
    expect(twice[0]!.candidate).not.toBe(twice[1]!.candidate);
  });

  it('a seed chosen after the figures, or figures nobody can re-run', async () => {
    const c = await contribute(23);
    expect(c.queued.commitment).toMatch(/^[0-9a-f]{64}$/);
    expect(await status(c.id)).toMatchObject({ commitment: c.queued.commitment });
    await f.judged();
    const v = (await status(c.id)).verdict!;
    expect(v).toMatchObject({ block: blockHash(c.block.header), slot: SLOT, base: c.block.header.prev, meta: f.meta, tokens: expect.any(Number) });
    expect(v.sample.commitment).toBe(c.queued.commitment);
    expect(sha256(v.sample.seed)).toBe(v.sample.commitment);
    const ev = f.relay.accounts.evaluator;
    const ctx = await ev.context(f.meta);
    const heads = { ...(await f.relay.index.paramIndex(f.meta)), [SLOT]: v.base };
    const again = await ev.judge(ctx, heads, SLOT, c.block.payload, v.sample.seed);
    expect({ baseline: again.baseline, candidate: again.candidate, tokens: again.tokens }).toEqual({ baseline: v.baseline, candidate: v.candidate, tokens: v.tokens });
  });

  it('reading the evaluation secret, or a seed before its verdict, from any route', async () => {
    const secret = await evalSecret();
    expect(secret.length).toBe(32);
    const c = await contribute(24);
    await f.judged();
    // A contribution still waiting for its turn: its seed is drawn and must stay unseen until the verdict.
    await forge(f, [["UPDATE contributions SET status = 'queued', verdict = NULL, decided_at = NULL WHERE id = ?", c.id]]);
    const { seed } = await accountsRow<{ seed: string }>(f, 'SELECT seed FROM contributions WHERE id = ?', c.id);
    const needles = [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url'), seed];
    const values: Record<string, string> = {
      hash: f.meta,
      name: SLOT,
      id: String(c.id),
      address: c.who.account,
      key: c.who.key.address.toLowerCase(),
      index: '0',
      i: '0',
    };
    const gets = f.app.routes.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/'));
    expect(gets.length).toBeGreaterThan(10);
    for (const r of gets) {
      const path = r.path.replace(/:(\w+)/g, (_, p: string) => values[p] ?? p);
      const res = await f.app.request(path, { headers: { cookie: c.who.cookie } });
      const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
      for (const n of needles) expect(text.includes(n), `${path} serves a secret`).toBe(false);
    }
  });

  it('picking the scored passages by the public split rule', async () => {
    const ctx = await f.relay.accounts.evaluator.context(f.meta);
    const all = hiddenPassages(corpusDocs.hidden()).map((p) => p.id);
    expect(ctx.pool.length).toBeGreaterThan(10);
    expect(ctx.pool.length).toBeLessThan(all.length);
    expect(ctx.pool.every((id) => all.includes(id))).toBe(true);
    const other = await accountsFixture({ maxRelativeNorm: 10 });
    try {
      const pool = (await other.relay.accounts.evaluator.context(other.meta)).pool;
      expect(pool).not.toEqual(ctx.pool);
    } finally {
      await other.close();
    }
  });
});
