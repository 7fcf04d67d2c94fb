import { leafHash } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { leafHashAsync } from '../src/index.ts';

describe('leafHashAsync', () => {
  it('equals the block format’s leaf hash, with WebCrypto and without', async () => {
    const tiles = [new Uint8Array(0), Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff), new Uint8Array(5).fill(9)];
    for (const t of tiles) expect(await leafHashAsync(t)).toEqual(leafHash(t));
    const subtle = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      for (const t of tiles) expect(await leafHashAsync(t)).toEqual(leafHash(t));
    } finally {
      Object.defineProperty(globalThis, 'crypto', subtle!);
    }
  });
});
