import type { BrowserContext } from '@playwright/test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

/** An EIP-1193 provider in the page backed by a viem local account in the test (real secp256k1 signatures). */
export async function injectWallet(context: BrowserContext): Promise<string> {
  const wallet = privateKeyToAccount(generatePrivateKey());
  await context.exposeFunction('blyanTestSign', (hex: Hex) => wallet.signMessage({ message: { raw: hex } }));
  await context.addInitScript((address: string) => {
    const w = window as unknown as { ethereum: unknown; blyanTestSign(hex: string): Promise<string> };
    w.ethereum = {
      async request({ method, params }: { method: string; params?: unknown[] }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address];
        if (method === 'personal_sign') return w.blyanTestSign(params![0] as string);
        throw new Error(`the test wallet does not do ${method}`);
      },
    };
  }, wallet.address);
  return wallet.address.toLowerCase();
}
