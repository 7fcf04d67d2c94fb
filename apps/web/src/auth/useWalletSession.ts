import { useCallback, useEffect, useState } from 'react';
import type { AuthState } from './useAuth.ts';
import { type Wallet, lastWallet, preferredWallet, rememberWallet, useWallets, watchWallet } from './wallets.ts';

/**
 * The wallets on offer, the one chosen (remembered across visits), sign-in with it, and, while
 * signed in, its account and chain changes: another account ends the session with a message, a
 * chain change is noted.
 */
export function useWalletSession(auth: AuthState, login: (w: Wallet['provider']) => Promise<void>, logout: (reason?: string) => Promise<void>) {
  const wallets = useWallets();
  const [chosenId, setChosenId] = useState<string | null>(lastWallet);
  const [note, setNote] = useState<string | null>(null);
  const chosen = preferredWallet(wallets, chosenId);
  const account = auth.state === 'in' ? auth.account : null;

  useEffect(() => {
    if (account === null || chosen === null) return;
    return watchWallet(chosen.provider, account, (change) => {
      if (change.kind === 'end') void logout(change.message);
      else setNote(change.message);
    });
  }, [account, chosen, logout]);

  const signIn = useCallback(() => {
    if (chosen === null) return;
    rememberWallet(chosen);
    setNote(null);
    void login(chosen.provider);
  }, [chosen, login]);

  return { wallets, chosen, choose: setChosenId, signIn, note };
}
