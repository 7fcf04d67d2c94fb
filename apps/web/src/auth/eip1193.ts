import type { Address } from '@blyan/block';
import { isAddress, toHex } from 'viem';

/** An EIP-1193 provider (MetaMask's `window.ethereum`, or any wallet that injects one). */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

/** The wallet's first account, after asking the user to connect. */
export async function requestAccount(provider: Eip1193Provider): Promise<Address> {
  const accounts = await provider.request({ method: 'eth_requestAccounts' });
  const first = Array.isArray(accounts) ? accounts[0] : undefined;
  if (typeof first !== 'string' || !isAddress(first, { strict: false })) throw new Error('the wallet shared no account');
  return first.toLowerCase() as Address;
}

/** EIP-191 `personal_sign` of a UTF-8 message by `account`. */
export async function personalSign(provider: Eip1193Provider, account: Address, message: string): Promise<string> {
  const signature = await provider.request({ method: 'personal_sign', params: [toHex(message), account] });
  if (typeof signature !== 'string') throw new Error('the wallet returned no signature');
  return signature;
}
