import { type Hex, isHex } from 'viem';
import { type PrivateKeyAccount, generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const STORAGE_KEY = 'blyan.session-key';

/**
 * The session key: a secp256k1 key made in this tab at login, delegated by the SIWE message, that
 * signs contributed blocks without a wallet prompt. It lives in sessionStorage: the session cookie
 * outlives a reload, so a key kept only in memory would leave a session that can sign nothing;
 * sessionStorage is this tab's alone and is gone when the tab closes. Logout removes it.
 */
export function newSessionKey(): PrivateKeyAccount {
  const key = generatePrivateKey();
  sessionStorage.setItem(STORAGE_KEY, key);
  return privateKeyToAccount(key);
}

/** This tab's session key's private key, or null when it has none. */
export function storedSessionKey(): Hex | null {
  const key = sessionStorage.getItem(STORAGE_KEY);
  return key !== null && isHex(key) && key.length === 66 ? key : null;
}

export function dropSessionKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
