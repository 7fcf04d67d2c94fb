import type { Address } from '@blyan/block';
import { AccountsClient, type Fetch, type Session } from '@blyan/client';
import type { PrivateKeyAccount } from 'viem/accounts';
import { type AccountsFixture, ORIGIN, newAccount } from '../../../relay/test/accounts-helpers.ts';
import { loginMessage } from '../src/auth/siwe-message.ts';

export interface SignedInClient {
  /** Reaches the in-process relay as the page at ORIGIN does, carrying the session cookie. */
  fetchImpl: Fetch;
  accounts: AccountsClient;
  /** The session key the login delegated to. */
  key: PrivateKeyAccount;
  account: Address;
  message: string;
  session: Session;
}

/** Signs a fresh wallet in to the in-process relay the way the page does: its own SIWE message (viem), a fresh session key. */
export async function signIn(f: Pick<AccountsFixture, 'app'>): Promise<SignedInClient> {
  let cookie = '';
  const fetchImpl: Fetch = async (url, init = {}) => {
    const u = new URL(url);
    const res = await f.app.request(u.pathname + u.search, { ...init, headers: { ...(init.headers as Record<string, string>), origin: ORIGIN, ...(cookie && { cookie }) } });
    cookie = res.headers.get('set-cookie')?.split(';')[0] ?? cookie;
    return res;
  };
  const accounts = new AccountsClient('http://relay.test', fetchImpl);
  const wallet = newAccount();
  const key = newAccount();
  const account = wallet.address.toLowerCase() as Address;
  const message = loginMessage(await accounts.challenge(), account, key.address.toLowerCase() as Address, ORIGIN, Date.now());
  const session = await accounts.login(message, await wallet.signMessage({ message }), await key.signMessage({ message }));
  return { fetchImpl, accounts, key, account, message, session };
}
