import type { Address } from '@blyan/block';
import { type EIP6963ProviderDetail, createStore } from 'mipd';
import { useEffect, useState } from 'react';
import type { Eip1193Provider } from './eip1193.ts';

/** A wallet the user can sign in with. */
export interface Wallet {
  /** The wallet's reverse-DNS name (EIP-6963), or `injected` for a bare `window.ethereum`. */
  id: string;
  name: string;
  icon: string | null;
  provider: Eip1193Provider;
}

/** What a page says when the browser has no wallet at all. */
export const NO_WALLET = 'Signing in needs an Ethereum wallet in this browser: install a wallet extension such as MetaMask, Rabby or Coinbase Wallet, then reload this page. Chat and the explorer work without one.';

const CHOSEN_KEY = 'blyan.wallet';

/**
 * The wallets to offer: every one that announced itself (EIP-6963, so several installed wallets
 * are all listed, by name), else the legacy injected `window.ethereum` of a wallet that does not
 * announce, else none.
 */
export function walletChoices(announced: readonly EIP6963ProviderDetail[], injected: unknown): Wallet[] {
  if (announced.length > 0) return announced.map((d) => ({ id: d.info.rdns, name: d.info.name, icon: d.info.icon, provider: d.provider as Eip1193Provider }));
  const legacy = injected as Eip1193Provider | undefined;
  return legacy && typeof legacy.request === 'function' ? [{ id: 'injected', name: 'Browser wallet', icon: null, provider: legacy }] : [];
}

/** The wallet to preselect: the one last used, if it is still there, else the first. */
export function preferredWallet(wallets: readonly Wallet[], last: string | null): Wallet | null {
  return wallets.find((w) => w.id === last) ?? wallets[0] ?? null;
}

export const rememberWallet = (w: Wallet): void => localStorage.setItem(CHOSEN_KEY, w.id);
export const lastWallet = (): string | null => localStorage.getItem(CHOSEN_KEY);

/** The browser's wallets, updated as extensions announce themselves (mipd's EIP-6963 store). */
export function useWallets(): Wallet[] {
  const [wallets, setWallets] = useState<Wallet[]>(() => walletChoices([], (globalThis as { ethereum?: unknown }).ethereum));
  useEffect(() => {
    const store = createStore();
    const unsubscribe = store.subscribe((announced) => setWallets(walletChoices(announced, (globalThis as { ethereum?: unknown }).ethereum)), { emitImmediately: true });
    return () => {
      unsubscribe();
      store.destroy();
    };
  }, []);
  return wallets;
}

/** An EIP-1193 provider's events (optional: a wallet without them is simply not watched). */
interface EventfulProvider extends Eip1193Provider {
  on?(event: string, listener: (value: unknown) => void): void;
  removeListener?(event: string, listener: (value: unknown) => void): void;
}

/** What a change in the wallet means for the signed-in session. */
export type WalletChange = { kind: 'end'; message: string } | { kind: 'note'; message: string };

/**
 * The session's answer to `accountsChanged`: the session belongs to one account, so another
 * account (or none: the wallet locked or disconnected this page) ends it; the same account changes nothing.
 */
export function onAccountsChanged(signedIn: Address, accounts: unknown): WalletChange | null {
  const next = Array.isArray(accounts) && typeof accounts[0] === 'string' ? (accounts[0].toLowerCase() as Address) : null;
  if (next === signedIn.toLowerCase()) return null;
  return {
    kind: 'end',
    message: next === null
      ? 'Your wallet disconnected this page, so you are signed out.'
      : `Your wallet switched to account ${next.slice(0, 10)}…, so ${signedIn.slice(0, 10)}… is signed out: sign in again to use the new account.`,
  };
}

/**
 * The session's answer to `chainChanged`: Blyan only asks the wallet to sign messages, never to
 * send a transaction, so the session goes on; the user is told it does.
 */
export function onChainChanged(chainId: unknown): WalletChange {
  const id = typeof chainId === 'string' && /^0x[0-9a-f]+$/i.test(chainId) ? Number.parseInt(chainId, 16) : String(chainId);
  return { kind: 'note', message: `Your wallet switched to chain ${id}. Blyan only asks your wallet to sign messages, never to send transactions, so you stay signed in.` };
}

/** Listens to the wallet of a signed-in session; returns the unsubscribe. */
export function watchWallet(provider: Eip1193Provider, account: Address, onChange: (c: WalletChange) => void): () => void {
  const p = provider as EventfulProvider;
  if (typeof p.on !== 'function') return () => {};
  const accounts = (value: unknown) => {
    const change = onAccountsChanged(account, value);
    if (change) onChange(change);
  };
  const chain = (value: unknown) => onChange(onChainChanged(value));
  p.on('accountsChanged', accounts);
  p.on('chainChanged', chain);
  return () => {
    p.removeListener?.('accountsChanged', accounts);
    p.removeListener?.('chainChanged', chain);
  };
}
