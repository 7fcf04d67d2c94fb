import { type Address, type Signer, blockHash, buildBlock } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, T0, type LoggedIn, accountsFixture, login, newAccount } from '../../../relay/test/accounts-helpers.ts';
import { BlockVerificationError, type DelegationProof, RelayClient, checkDelegation, relayDelegations, verifyHeader } from '../src/index.ts';

let f: AccountsFixture;
let session: LoggedIn;
let client: RelayClient;
const asked: string[] = [];

beforeAll(async () => {
  f = await accountsFixture();
  session = await login(f.app);
  client = new RelayClient('http://relay.test', (url, init) => {
    asked.push(new URL(url).pathname);
    return Promise.resolve(f.app.request(new URL(url).pathname, init));
  });
});
afterAll(() => f.close());

const keyOf = (s: LoggedIn) => s.key.address.toLowerCase() as Address;

/** A session-signed expert header for `author`, created at `at`. */
async function sessionBlock(signer: Signer, author: Address, at: number) {
  const b = await buildBlock({ type: 'expert', index: 0, name: 'layer0.expert0', depends_on: [f.meta], prev: null, payload: new Uint8Array([1, 2, 3]), meta: { encoding: 'tensors-v1' }, created_at: at }, signer, author);
  return { hash: blockHash(b.header), header: b.header };
}

async function proofOf(s: LoggedIn): Promise<DelegationProof> {
  return ((await (await client.get(`/delegations/${keyOf(s)}`)).json()) as { delegations: DelegationProof[] }).delegations[0]!;
}

describe('verifyHeader with relayDelegations', () => {
  it('accepts a block signed by a session key its author delegated through SIWE, fetching the proofs once', async () => {
    const delegated = relayDelegations(client);
    const b = await sessionBlock(session.key, session.account, T0 + 60_000);
    asked.length = 0;
    expect(await verifyHeader(b.hash, b.header, delegated)).toBe(keyOf(session));
    const again = await sessionBlock(session.key, session.account, T0 + 120_000);
    expect(await verifyHeader(again.hash, again.header, delegated)).toBe(keyOf(session));
    expect(asked).toEqual([`/v1/delegations/${keyOf(session)}`]);
  });

  it('refuses it without a lookup, after the delegation expired, and for another author', async () => {
    const late = await sessionBlock(session.key, session.account, T0 + 3600_000);
    await expect(verifyHeader(late.hash, late.header, relayDelegations(client))).rejects.toThrow(/no proven delegation of 0x[0-9a-f]{40} covers at 2026-01-01T01:00:00.000Z/);
    const inTime = await sessionBlock(session.key, session.account, T0 + 60_000);
    await expect(verifyHeader(inTime.hash, inTime.header)).rejects.toThrow(BlockVerificationError);
    const other = newAccount().address.toLowerCase() as Address;
    const foreign = await sessionBlock(session.key, other, T0 + 60_000);
    await expect(verifyHeader(foreign.hash, foreign.header, relayDelegations(client))).rejects.toThrow(`no proven delegation of ${other}`);
  });

  it('refuses a block signed by a key nobody delegated (the relay answers 404)', async () => {
    const stranger = newAccount();
    const b = await sessionBlock(stranger, session.account, T0 + 60_000);
    await expect(verifyHeader(b.hash, b.header, relayDelegations(client))).rejects.toThrow(`signed by ${stranger.address.toLowerCase()}, which no proven delegation`);
  });

  it('still accepts a block its author signed itself', async () => {
    const b = await sessionBlock(session.wallet, session.account, T0);
    expect(await verifyHeader(b.hash, b.header, relayDelegations(client))).toBe(session.account);
  });
});

describe('checkDelegation trusts only the message and the wallet signature', () => {
  it('proves the account and the span from issued-at to expiration', async () => {
    expect(await checkDelegation(await proofOf(session), keyOf(session))).toEqual({ account: session.account, from: T0, to: T0 + 3600_000 });
  });

  it('refuses a proof the relay altered: another key, a rewritten expiry, another wallet signature, garbage', async () => {
    const p = await proofOf(session);
    const other = keyOf(await login(f.app));
    expect(await checkDelegation(p, other)).toBe(`the message does not delegate to exactly the session key ${other}`);
    const longer = { ...p, message: p.message.replace('Expiration Time: 2026-01-01T01:00:00.000Z', 'Expiration Time: 2027-01-01T01:00:00.000Z') };
    expect(longer.message).not.toBe(p.message);
    expect(await checkDelegation(longer, keyOf(session))).toMatch(/^the message is signed by 0x[0-9a-f]{40}, not by 0x/);
    const forged = { ...p, signature: await newAccount().signMessage({ message: p.message }) };
    expect(await checkDelegation(forged, keyOf(session))).toMatch(/^the message is signed by 0x[0-9a-f]{40}, not by 0x/);
    expect(await checkDelegation({ ...p, signature: '0x12' }, keyOf(session))).toBe('the signature is not 65 bytes of 0x-hex');
    expect(await checkDelegation({ ...p, message: 'hello' }, keyOf(session))).toMatch(/names no address|does not delegate/);
  });

  it('a relay serving a tampered proof cannot make a session-signed block verify', async () => {
    const p = await proofOf(session);
    const stranger = newAccount();
    const strangerKey = stranger.address.toLowerCase() as Address;
    const lying = new RelayClient('http://relay.test', async () =>
      Response.json({ session_key: strangerKey, delegations: [{ ...p, message: p.message.replace(keyOf(session), stranger.address) }] }),
    );
    const b = await sessionBlock(stranger, session.account, T0 + 60_000);
    await expect(verifyHeader(b.hash, b.header, relayDelegations(lying))).rejects.toThrow(BlockVerificationError);
  });
});
