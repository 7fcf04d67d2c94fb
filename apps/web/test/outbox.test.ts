import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BlockEvent, FromWorker } from '../src/protocol.ts';
import { Outbox, PROGRESS_DELAY_MS } from '../src/worker/outbox.ts';

const block = (hash: string, received: number): FromWorker => ({
  type: 'block',
  event: { hash, slot: `slot ${hash}`, source: 'network', state: 'loading', received, total: 100, verifiedTiles: 0, tiles: 1, refetched: 0 } satisfies BlockEvent,
});

describe('Outbox', () => {
  let posted: FromWorker[];
  let outbox: Outbox;
  beforeEach(() => {
    vi.useFakeTimers();
    posted = [];
    outbox = new Outbox((m) => posted.push(m));
  });
  afterEach(() => vi.useRealTimers());

  it('posts only the latest progress of each block, the cache and an answer’s plan, once the delay has passed', () => {
    outbox.send(block('a', 10));
    outbox.send(block('b', 10));
    outbox.send({ type: 'cache', bytes: 1, blocks: 1 });
    outbox.send(block('a', 60));
    outbox.send({ type: 'plan', id: 1, fetches: [] });
    outbox.send({ type: 'cache', bytes: 2, blocks: 2 });
    vi.advanceTimersByTime(PROGRESS_DELAY_MS - 1);
    expect(posted).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(posted).toEqual([block('b', 10), block('a', 60), { type: 'plan', id: 1, fetches: [] }, { type: 'cache', bytes: 2, blocks: 2 }]);
  });

  it('posts what it holds before any other message, so a token or an error never overtakes the progress before it', () => {
    outbox.send(block('a', 10));
    outbox.send({ type: 'route', id: 3, layers: [] });
    outbox.send({ type: 'token', id: 3, text: 'x' });
    outbox.send({ type: 'status', text: 'generating' });
    expect(posted.map((m) => m.type)).toEqual(['block', 'route', 'token', 'status']);
    vi.advanceTimersByTime(2 * PROGRESS_DELAY_MS);
    expect(posted).toHaveLength(4);
  });

  it('keeps the plans of two answers apart', () => {
    outbox.send({ type: 'plan', id: 1, fetches: [] });
    outbox.send({ type: 'plan', id: 2, fetches: [] });
    outbox.flush();
    expect(posted).toEqual([
      { type: 'plan', id: 1, fetches: [] },
      { type: 'plan', id: 2, fetches: [] },
    ]);
  });
});
