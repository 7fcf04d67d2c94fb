import 'fake-indexeddb/auto';
import { blockHash } from '@blyan/block';
import { RelayClient } from '@blyan/client';
import { type ParamMap, Tokenizer, expertsUsed, prefill } from '@blyan/model';
import { parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsFixture, accountsFixture } from '../../../relay/test/accounts-helpers.ts';
import type { FromWorker } from '../src/protocol.ts';
import { BlockCache } from '../src/worker/block-cache.ts';
import { ModelSession } from '../src/worker/session.ts';

const CANDIDATES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'T', 'W', ' ', '.'];

describe('the block cache under a budget, as a page reload meets it', () => {
  let f: AccountsFixture;
  beforeAll(async () => {
    f = await accountsFixture();
  });
  afterAll(() => f.close());

  /**
   * Answers `prompt` (one token: the experts it needs are its own top-K per layer) in a fresh session
   * over `cache`, like a newly loaded page. Low bandwidth keeps topK experts per layer chosen from
   * the prompt, for one token exactly its own top-K, with nothing prefetched beyond them.
   */
  async function answerFresh(cache: BlockCache, prompt: string): Promise<Record<string, string>> {
    const client = new RelayClient('http://relay.test', (url, init) => Promise.resolve(f.app.request(new URL(url).pathname + new URL(url).search, init)));
    const posts: FromWorker[] = [];
    const session = new ModelSession(client, f.meta, cache, (m) => posts.push(m), 'cpu', null);
    await session.answer({ id: 1, text: prompt, sampling: { temperature: 0, topK: 0, topP: 1, maxTokens: 1, seed: 1 }, routing: 'low-bandwidth' }, () => false);
    const done = posts.find((m) => m.type === 'done');
    if (done?.type !== 'done') throw new Error(`no answer: ${JSON.stringify(posts.filter((m) => m.type === 'error'))}`);
    return done.stats.expertBlocks;
  }

  it('evicts head blocks the new session does not hold, to cache the experts it needs', async () => {
    const { config: cfg, tokenizer: json } = parseMetaPayload(f.genesis.find((b) => blockHash(b.header) === f.meta)!.payload);
    const tokenizer = Tokenizer.fromJSON(json);
    const plans = new Map(slotPlan(cfg).map((s) => [s.name, s]));
    const params: ParamMap = Object.assign({}, ...f.genesis.filter((b) => plans.has(b.header.name)).map((b) => slotParams(plans.get(b.header.name)!, b.payload)));
    const routes = (prompt: string) => expertsUsed(prefill(params, cfg, tokenizer.encode(prompt)).state).flatMap((es, l) => es.map((e) => `layer${l}.expert${e}`));
    const first = CANDIDATES.find((p) => tokenizer.encode(p).length === 1)!;
    const second = CANDIDATES.find((p) => tokenizer.encode(p).length === 1 && routes(p).some((s) => !routes(first).includes(s)))!;
    expect(second).toBeDefined();

    // A first visit fills the cache with the model's dense blocks and the first prompt's experts.
    let cache = await BlockCache.open(1 << 24);
    const before = await answerFresh(cache, first);
    const full = cache.bytes;
    await cache.close();

    // Reloaded with a budget the cache already fills: the second prompt's new experts only fit if
    // experts of the first visit, heads still but not held by this session, make room.
    cache = await BlockCache.open(full);
    const after = await answerFresh(cache, second);
    const fresh = Object.keys(after).filter((s) => !(s in before));
    const idle = Object.keys(before).filter((s) => !(s in after));
    expect(fresh.length).toBeGreaterThan(0);
    expect(idle.filter((slot) => !cache.has(before[slot]!)).length).toBeGreaterThan(0);
    for (const slot of Object.keys(after)) expect(cache.has(after[slot]!)).toBe(true);
    expect(cache.has(f.meta)).toBe(true);
    expect(cache.bytes).toBeLessThanOrEqual(full);
    await cache.clear();
    await cache.close();
  });
});
