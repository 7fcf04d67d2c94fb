import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, type LoggedIn, clock, login, newAccount } from '../accounts-helpers.ts';
import { dataFixture, dataState, postVote, prose, sampled, uploadScored, vote } from '../data-helpers.ts';

let f: AccountsFixture;
let uploader: LoggedIn;
let reviewer: LoggedIn;
let id: number;
let doc: Awaited<ReturnType<typeof sampled>>[number];

beforeAll(async () => {
  f = await dataFixture({ hiddenFraction: 0 });
  uploader = await login(f.app);
  reviewer = await login(f.app);
  id = (await uploadScored(f, uploader, [prose(1), prose(2), prose(3)])).id;
  doc = (await sampled(f, id))[0]!;
});
afterAll(() => f.close());

async function refused(who: LoggedIn, body: unknown, status: number, code: string): Promise<void> {
  const before = await dataState(f);
  const r = await postVote(f.app, who, body);
  expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
  expect(r.status).toBe(status);
  expect(await dataState(f)).toEqual(before);
}

describe('attacks on review votes (refused with a reason, nothing stored, nobody credited)', () => {
  it("a vote on one's own upload", async () => refused(uploader, await vote(uploader, id, doc, true), 403, 'own_upload'));

  it('a replayed vote: the same signed vote sent twice counts once', async () => {
    const v = await vote(reviewer, id, doc, true);
    expect((await postVote(f.app, reviewer, v)).status).toBe(201);
    await refused(reviewer, v, 409, 'replayed_vote');
  });

  it('a second vote of the same account on the same document', async () => refused(reviewer, await vote(reviewer, id, doc, false), 409, 'already_voted'));

  it("another account's vote replayed under my session", async () => {
    const third = await login(f.app);
    const theirs = await vote(third, id, (await sampled(f, id))[1]!, true);
    await refused(reviewer, theirs, 403, 'wrong_voter');
  });

  it('a vote signed by a key the voter never delegated', async () => {
    const stranger = newAccount();
    const v = await vote({ ...reviewer, key: stranger }, id, (await sampled(f, id))[1]!, true);
    await refused(reviewer, v, 403, 'undelegated_key');
  });

  it('a tampered vote (keep flipped after signing) recovers another signer', async () => {
    const v = await vote(reviewer, id, (await sampled(f, id))[1]!, true);
    await refused(reviewer, { ...v, keep: false }, 403, 'undelegated_key');
  });

  it('a stale vote, a vote on a document outside the sample, and a malformed vote', async () => {
    await refused(reviewer, await vote(reviewer, id, (await sampled(f, id))[1]!, true, { at: clock.now - 3600_000 }), 422, 'stale_vote');
    const outside = (await f.relay.accounts.data.store.docs(id)).find((d) => !d.sampled)!.sha256;
    await refused(reviewer, await vote(reviewer, id, outside, true), 422, 'not_sampled');
    await refused(reviewer, { hello: 'world' }, 400, 'malformed_vote');
  });
});
