import type { Address } from '@blyan/block';
import { AccountsClient } from '@blyan/client';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { type Eip1193Provider, personalSign, requestAccount } from './eip1193.ts';
import { dropSessionKey, newSessionKey, storedSessionKey } from './session-key.ts';
import { loginMessage } from './siwe-message.ts';

export interface SignedIn {
  account: Address;
  sessionKey: Address;
  expiresAt: number;
}

export type AuthState = { state: 'checking' } | { state: 'out'; error: string | null } | { state: 'signing' } | ({ state: 'in' } & SignedIn);

/**
 * Sign-In with Ethereum against the relay: nonce, a fresh session key, the wallet's signature of
 * the EIP-4361 message delegating to it and the session key's own signature of that message (the
 * relay's proof that this tab holds the key), login (httpOnly cookie); on load, the cookie's session
 * is resumed when this tab still holds its session key. Logout revokes the delegation.
 */
export function useAuth(relay: string) {
  const accounts = useMemo(() => new AccountsClient(relay), [relay]);
  const [auth, setAuth] = useState<AuthState>({ state: 'checking' });

  useEffect(() => {
    let live = true;
    // Without this tab's session key there is no session to resume: asking would only earn a 401.
    if (storedSessionKey() === null) {
      setAuth({ state: 'out', error: null });
      return;
    }
    accounts
      .me()
      .then((s) => {
        if (!live) return;
        const key = storedSessionKey();
        setAuth(s !== null && key !== null ? { state: 'in', account: s.account, sessionKey: s.session_key, expiresAt: s.expires_at } : { state: 'out', error: null });
      })
      .catch(() => live && setAuth({ state: 'out', error: null }));
    return () => {
      live = false;
    };
  }, [accounts]);

  const login = useCallback(async (wallet: Eip1193Provider) => {
    setAuth({ state: 'signing' });
    try {
      const account = await requestAccount(wallet);
      const challenge = await accounts.challenge();
      const key = newSessionKey();
      const message = loginMessage(challenge, account, key.address.toLowerCase() as Address, location.origin, Date.now());
      const s = await accounts.login(message, await personalSign(wallet, account, message), await key.signMessage({ message }));
      setAuth({ state: 'in', account: s.account, sessionKey: s.session_key, expiresAt: s.expires_at });
    } catch (e) {
      dropSessionKey();
      setAuth({ state: 'out', error: (e as Error).message });
    }
  }, [accounts]);

  /** Ends the session; `reason` is shown to the user (the wallet switched account). */
  const logout = useCallback(async (reason?: string) => {
    try {
      await accounts.logout();
      setAuth({ state: 'out', error: reason ?? null });
    } catch (e) {
      setAuth({ state: 'out', error: `logout: ${(e as Error).message}` });
    } finally {
      dropSessionKey();
    }
  }, [accounts]);

  return { auth, login, logout, accounts };
}
