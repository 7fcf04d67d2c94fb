import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Address, Hash } from '@blyan/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccountsDb } from '../src/accounts/db.ts';
import { RoundStore } from '../src/rounds/store.ts';
import { tempDir } from './helpers.ts';

const hash = (n: number): Hash => `0x${n.toString(16).padStart(64, '0')}` as Hash;
const who = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}` as Address;

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RoundStore.recent (copies caught across a slot’s earlier rounds)', () => {
  it('returns the deltas of the slot’s own last rounds, however many other slots’ rounds lie between', () => {
    const store = new RoundStore(openAccountsDb(join(dir, 'accounts.sqlite')));
    const slots = ['layer0.expert0', 'layer0.expert1', 'layer1.expert0', 'layer1.expert1', 'layer2.expert0'];
    const rounds: { id: number; slot: string; unit: number }[] = [];
    for (let turn = 0; turn < 4; turn++) {
      for (const slot of slots) {
        const n = rounds.length;
        const id = store.open({ slot, meta: hash(1), base: hash(2), steps: 16, seed: hash(3), commitment: hash(4), at: n, dataset: null, datasetHead: null });
        const unit = store.issue(id, who(n + 1), 0, n).id;
        expect(store.fill(unit, Uint8Array.of(n), hash(1000 + n), n)).toBe(true);
        rounds.push({ id, slot, unit });
      }
    }
    const [slot] = slots as [string];
    const own = rounds.filter((r) => r.slot === slot);
    const last = own.at(-1)!;
    // The slot's two rounds before its last are 5 and 10 ids back: a window of round ids would miss them.
    expect(store.recent(slot, last.id, 2).map((d) => d.id)).toEqual(own.slice(-3, -1).map((r) => r.unit));
    expect(store.recent(slot, last.id, 4).map((d) => d.id)).toEqual(own.slice(0, -1).map((r) => r.unit));
    expect(store.recent(slot, own[0]!.id, 4)).toEqual([]);
  });
});
