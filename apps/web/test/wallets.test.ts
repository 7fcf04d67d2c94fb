import { EventEmitter } from 'node:events';
import type { EIP6963ProviderDetail } from 'mipd';
import { describe, expect, it } from 'vitest';
import type { Eip1193Provider } from '../src/auth/eip1193.ts';
import { onAccountsChanged, onChainChanged, preferredWallet, walletChoices, watchWallet } from '../src/auth/wallets.ts';

const ALICE = '0x00000000000000000000000000000000000a11ce';
const BOB = '0x0000000000000000000000000000000000000b0b';

/** An EIP-1193 provider with EIP-1193 events, as wallets inject. */
class Provider extends EventEmitter implements Eip1193Provider {
  request(): Promise<unknown> {
    return Promise.resolve([ALICE]);
  }
}

const announced = (rdns: string, name: string): EIP6963ProviderDetail =>
  ({ info: { rdns, name, uuid: rdns, icon: 'data:image/svg+xml,<svg/>' }, provider: new Provider() }) as unknown as EIP6963ProviderDetail;

describe('wallet discovery', () => {
  it('lists every wallet that announced itself (EIP-6963) by name, ignoring window.ethereum then', () => {
    const wallets = walletChoices([announced('io.metamask', 'MetaMask'), announced('io.rabby', 'Rabby')], new Provider());
    expect(wallets.map((w) => [w.id, w.name])).toEqual([['io.metamask', 'MetaMask'], ['io.rabby', 'Rabby']]);
  });

  it('falls back to a legacy window.ethereum, and offers nothing when there is no wallet at all', () => {
    expect(walletChoices([], new Provider()).map((w) => w.id)).toEqual(['injected']);
    expect(walletChoices([], undefined)).toEqual([]);
    expect(walletChoices([], { request: 'not a function' })).toEqual([]);
  });

  it('preselects the wallet used last while it is installed, else the first', () => {
    const wallets = walletChoices([announced('io.metamask', 'MetaMask'), announced('io.rabby', 'Rabby')], undefined);
    expect(preferredWallet(wallets, 'io.rabby')?.name).toBe('Rabby');
    expect(preferredWallet(wallets, 'com.gone')?.name).toBe('MetaMask');
    expect(preferredWallet([], 'io.rabby')).toBeNull();
  });
});

describe('wallet changes during a session', () => {
  it('ends the session when the wallet switches to another account or disconnects, and not for the same one', () => {
    expect(onAccountsChanged(ALICE, [ALICE.toUpperCase().replace('0X', '0x')])).toBeNull();
    expect(onAccountsChanged(ALICE, [BOB])).toMatchObject({ kind: 'end', message: expect.stringContaining('sign in again') });
    expect(onAccountsChanged(ALICE, [])).toMatchObject({ kind: 'end', message: expect.stringContaining('disconnected') });
  });

  it('keeps the session on a chain change and says so', () => {
    expect(onChainChanged('0x89')).toEqual({ kind: 'note', message: expect.stringContaining('chain 137') });
  });

  it('hears the provider’s accountsChanged and chainChanged until unsubscribed', () => {
    const provider = new Provider();
    const heard: string[] = [];
    const stop = watchWallet(provider, ALICE, (c) => heard.push(c.kind));
    provider.emit('accountsChanged', [ALICE]);
    provider.emit('chainChanged', '0x1');
    provider.emit('accountsChanged', [BOB]);
    stop();
    provider.emit('accountsChanged', [BOB]);
    expect(heard).toEqual(['note', 'end']);
    expect(provider.listenerCount('accountsChanged')).toBe(0);
  });
});
