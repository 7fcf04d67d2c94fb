import type { Address } from '@blyan/block';
import { parseVerdict, recoverVerdictSigner, sampleCommitment } from '@blyan/chain';
import { decodeDelta, encodeDelta, sparsifyDelta } from '@blyan/delta';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUND_LEASE_MS } from '../src/accounts/accounts.ts';
import { DEFAULT_ROUNDS } from '../src/rounds/config.ts';
import type { WorkUnit } from '../src/rounds/rounds.ts';
import { type AccountsFixture, accountsFixture, clock, login, newAccount, reopen } from './accounts-helpers.ts';
import { evaluator } from './helpers.ts';
import { honestDelta, unitModel } from './round-helpers.ts';

let f: AccountsFixture;

beforeEach(async () => {
  f = await accountsFixture({ maxRelativeNorm: 10, rounds: { ...DEFAULT_ROUNDS, contributors: 6, windows: 64, scoreWindows: 64, steps: 30, outer: { lr: 1, momentum: 0.9 }, screen: { ...DEFAULT_ROUNDS.screen, own: { confidence: 0.95, margin: 0 } } } });
});
afterEach(() => f.close());

const rounds = () => f.relay.accounts.rounds;
const account = () => newAccount().address.toLowerCase() as Address;

const model = (unit: WorkUnit) => unitModel(f, unit);
const honest = (unit: WorkUnit) => honestDelta(f, unit);

/** An adversary's delta: the honest change sign-flipped, or noise of the same size. */
function forged(unit: WorkUnit, honestBytes: Uint8Array, kind: 'sign-flip' | 'noise'): Uint8Array {
  const { base } = model(unit);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.05;
  const moved = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x) => x + rnd())]));
  if (kind === 'noise') return encodeDelta(sparsifyDelta(base, moved, 0.1));
  return encodeDelta({ tensors: decodeDelta(honestBytes).tensors.map((t) => ({ ...t, values: t.values.map((q) => -q) })) });
}

async function join(): Promise<{ who: Address; unit: WorkUnit }> {
  const who = account();
  return { who, unit: await rounds().unit(who) };
}

const credited = (who: Address) => f.relay.accounts.book.balance(`user:${who}`);

describe('rounds per slot', () => {
  it('aggregates honest deltas into one accepted block with a signed verdict, and pays only the kept authors, in proportion', async () => {
    const honestOnes = [await join(), await join(), await join()];
    const round = honestOnes[0]!.unit.round;
    expect(new Set(honestOnes.map((h) => h.unit.round))).toEqual(new Set([round]));
    expect(new Set(honestOnes.map((h) => h.unit.shard.index)).size).toBe(3);
    const bytes: Uint8Array[] = [];
    for (const h of honestOnes) {
      bytes.push(await honest(h.unit));
      expect(await rounds().submit(h.who, round, bytes.at(-1)!)).toMatchObject({ ok: true });
    }
    const [noise, flipped, copier] = [await join(), await join(), await join()];
    expect(await rounds().submit(noise.who, round, forged(noise.unit, bytes[0]!, 'noise'))).toMatchObject({ ok: true });
    expect(await rounds().submit(flipped.who, round, forged(flipped.unit, bytes[0]!, 'sign-flip'))).toMatchObject({ ok: true });
    expect(await rounds().submit(copier.who, round, bytes[0]!)).toMatchObject({ ok: true });

    const result = await rounds().close(round);
    expect(result).toMatchObject({ accepted: true, reason: null });
    const r = (await f.relay.accounts.roundStore.round(round))!;
    expect(r.status).toBe('accepted');
    const head = (await f.relay.index.paramIndex(f.meta))[r.slot];
    expect(head).toBe(result.block);

    const verdict = parseVerdict(JSON.parse(r.verdict!));
    expect(verdict).toMatchObject({ accepted: true, block: result.block, base: r.base, slot: r.slot, sample: { seed: r.seed, commitment: r.commitment } });
    expect(sampleCommitment(verdict.sample.seed)).toBe(r.commitment);
    expect(await recoverVerdictSigner(verdict)).toBe(evaluator);

    const outcomes = await f.relay.accounts.roundStore.deltas(round);
    expect(outcomes.map((d) => d.status)).toEqual(['kept', 'kept', 'kept', 'hurt', 'hurt', 'copy']);
    for (const adversary of [noise, flipped, copier]) expect(await credited(adversary.who)).toBe(0);
    const paid = await Promise.all(honestOnes.map((h) => credited(h.who)));
    expect(paid.reduce((a, b) => a + b, 0)).toBe(r.pool);
    for (const [i, d] of outcomes.slice(0, 3).entries()) expect(paid[i]).toBe(d.credit);
    expect(await f.relay.accounts.book.trialBalance()).toMatchObject({ total: 0, unbalanced: [] });
    expect(await f.relay.accounts.roundStore.momentum(r.slot, f.meta)).not.toBeNull();
  });

  it('finishes a round the relay died appending on the next start, paying its authors exactly once', async () => {
    const honestOnes = [await join(), await join(), await join()];
    const round = honestOnes[0]!.unit.round;
    for (const h of honestOnes) expect(await rounds().submit(h.who, round, await honest(h.unit))).toMatchObject({ ok: true });
    const ledger = f.relay.ledger;
    const submit = ledger.submit.bind(ledger);
    ledger.submit = () => Promise.reject(new Error('killed mid-append'));
    await expect(rounds().close(round)).rejects.toThrow('killed mid-append');
    ledger.submit = submit;
    expect((await f.relay.accounts.roundStore.round(round))!.status).toBe('appending');
    expect(await Promise.all(honestOnes.map((h) => credited(h.who)))).toEqual([0, 0, 0]);
    await reopen(f);
    // The embedded relay finishes it on start; replicas leave it to a judge (a `blyan worker`), which takes it once the dead judge's claim runs out.
    await rounds().drain();
    clock.now += ROUND_LEASE_MS;
    await rounds().judgeNext();
    const r = (await f.relay.accounts.roundStore.round(round))!;
    expect(r.status).toBe('accepted');
    expect((await f.relay.index.paramIndex(f.meta))[r.slot]).toBe(r.block);
    const paid = await Promise.all(honestOnes.map((h) => credited(h.who)));
    expect(paid.reduce((x, y) => x + y, 0)).toBe(r.pool);
    await rounds().resume();
    await rounds().drain();
    expect(await Promise.all(honestOnes.map((h) => credited(h.who)))).toEqual(paid);
  });

  it('rejects a round whose every delta hurts: no block, no credit, no momentum', async () => {
    const a = await join();
    const honestBytes = await honest(a.unit);
    expect(await rounds().submit(a.who, a.unit.round, forged(a.unit, honestBytes, 'sign-flip'))).toMatchObject({ ok: true });
    const before = await f.relay.index.paramIndex(f.meta);
    const result = await rounds().close(a.unit.round);
    expect(result).toMatchObject({ accepted: false, reason: expect.stringMatching(/^all_dropped/) });
    expect(await f.relay.index.paramIndex(f.meta)).toEqual(before);
    expect(await credited(a.who)).toBe(0);
    expect(await f.relay.accounts.roundStore.momentum(a.unit.slot, f.meta)).toBeNull();
  });

  it('refuses deltas without a work unit, twice, too dense, over the norm, or malformed, storing nothing', async () => {
    const a = await join();
    const { base } = model(a.unit);
    const dense = encodeDelta(sparsifyDelta(base, Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x, i) => x + ((i % 7) - 3) * 1e-3)])), 1));
    const huge = encodeDelta(sparsifyDelta(base, Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x) => x * 400)])), 0.1));
    expect(await rounds().submit(account(), a.unit.round, dense)).toMatchObject({ ok: false, code: 'no_work_unit' });
    expect(await rounds().submit(a.who, a.unit.round, dense)).toMatchObject({ ok: false, code: 'too_dense' });
    expect(await rounds().submit(a.who, a.unit.round, huge)).toMatchObject({ ok: false, code: 'over_norm' });
    expect(await rounds().submit(a.who, a.unit.round, Uint8Array.of(1, 2, 3))).toMatchObject({ ok: false, code: 'malformed_delta' });
    expect(await rounds().submit(a.who, a.unit.round + 1, dense)).toMatchObject({ ok: false, code: 'unknown_round' });
    expect(await f.relay.accounts.roundStore.deltas(a.unit.round)).toEqual([]);
    const ok = encodeDelta(sparsifyDelta(base, Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x) => x * 1.01)])), 0.1));
    expect(await rounds().submit(a.who, a.unit.round, ok)).toMatchObject({ ok: true });
    expect(await rounds().submit(a.who, a.unit.round, ok)).toMatchObject({ ok: false, code: 'already_submitted' });
  });

  it('refuses a delta that arrives while its round is being judged, and hands out no unit of that round meanwhile', async () => {
    const [a, b] = [await join(), await join()];
    const round = a.unit.round;
    const scaled = (unit: WorkUnit) => {
      const { base } = model(unit);
      return encodeDelta(sparsifyDelta(base, Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x) => x * 1.01)])), 0.1));
    };
    expect(await rounds().submit(a.who, round, scaled(a.unit))).toMatchObject({ ok: true });
    const judged = rounds().close(round);
    expect(await rounds().submit(b.who, round, scaled(b.unit))).toMatchObject({ ok: false, status: 409, code: 'round_closed' });
    expect((await rounds().unit(b.who)).round).not.toBe(round);
    expect((await join()).unit.round).not.toBe(round);
    await judged;
    expect((await f.relay.accounts.roundStore.deltas(round)).map((d) => d.account)).toEqual([a.who]);
    expect((await f.relay.accounts.roundStore.unit(round, b.who))!.status).toBe('assigned');
  });

  it('keeps an account in its round until the round closes, and opens the next slot when a round is full', async () => {
    const who = account();
    const first = await rounds().unit(who);
    expect(await rounds().unit(who)).toEqual(first);
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await join());
    expect(others.every((o) => o.unit.round === first.round)).toBe(true);
    const next = await join();
    expect(next.unit.round).not.toBe(first.round);
    expect(next.unit.slot).not.toBe(first.slot);
  });
});

describe('round routes', () => {
  it('hands a signed-in browser its work unit, takes its delta, and shows the round with its own entry', async () => {
    expect((await f.app.request('/v1/rounds/unit')).status).toBe(401);
    const who = await login(f.app);
    const res = await f.app.request('/v1/rounds/unit', { headers: { cookie: who.cookie } });
    expect(res.status).toBe(200);
    const unit = (await res.json()) as WorkUnit & { shard: { url: string } };
    expect(unit).toMatchObject({ meta: f.meta, steps: 30, shard: { url: `/v1/shards/${unit.shard.index}` } });
    expect(unit.replay).toBeNull();
    const { base } = model(unit);
    const delta = encodeDelta(sparsifyDelta(base, Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v.map((x) => x * 1.01)])), 0.1));
    const post = (body: Uint8Array, cookie = who.cookie) =>
      f.app.request(`/v1/rounds/${unit.round}/deltas`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream', cookie } });
    expect(await post(Uint8Array.of(9, 9))).toMatchObject({ status: 400 });
    expect(await post(delta)).toMatchObject({ status: 202 });
    expect(await post(delta)).toMatchObject({ status: 409 });
    const view = (await (await f.app.request(`/v1/rounds/${unit.round}`)).json()) as { status: string; commitment: string; verdict: unknown; deltas: { account: string; status: string }[] };
    expect(view).toMatchObject({ status: 'open', verdict: null, deltas: [{ account: who.account, status: 'submitted' }] });
    expect(JSON.stringify(view)).not.toContain((await f.relay.accounts.roundStore.round(unit.round))!.seed);
  });
});
