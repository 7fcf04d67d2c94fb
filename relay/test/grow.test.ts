/**
 * `blyan grow` (issue 14): new experts for a dataset of chain D, upcycled from the experts the router
 * picks most on its text, appended to the current model version by a genesis authority; a client at
 * the old meta head keeps the model it had, and bad requests store nothing.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Hash, blockHash, buildBlock } from '@blyan/block';
import { Lineage } from '@blyan/client';
import { docHash, encodeDatasetPayload } from '@blyan/data';
import { Tokenizer } from '@blyan/model';
import { parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { evalStream } from '@blyan/model/eval';
import { growModel, mostRouted, routingCounts } from '@blyan/model/grow';
import { afterEach, describe, expect, it } from 'vitest';
import { relayRules } from '../src/config.ts';
import { UsageError } from '../src/cli/args.ts';
import { grow } from '../src/cli/grow.ts';
import { verify } from '../src/cli/verify.ts';
import { type Relay, openRelay } from '../src/relay.ts';
import { type Fixture, fixture, genesisAccount, miner } from './helpers.ts';

const TEXTS = ['the new domain: tide tables, harbour charts and the pilots who read them. '.repeat(6), 'every harbour keeps its own tide table, and pilots learn them by heart. '.repeat(6)];

/** Closes the fixture's relay (the CLI takes the store's lock) and reopens it afterwards. */
let f: Fixture | null = null;
afterEach(async () => {
  await f?.close();
  f = null;
});

async function withDataset(): Promise<{ f: Fixture; dataset: Hash }> {
  const fx = await fixture();
  const payload = encodeDatasetPayload({ v: 1, docs: TEXTS.map((text) => ({ sha256: docHash(text), tier: 'silver' as const, bpb: 3, overlap: 0, text })) });
  const block = await buildBlock({ type: 'dataset', index: 0, name: 'harbours', depends_on: [fx.meta], prev: null, payload, meta: { encoding: 'dataset-v1' } }, genesisAccount);
  const r = await fx.relay.ledger.submit(block);
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  await fx.relay.close();
  return { f: fx, dataset: blockHash(block.header) };
}

async function reopen(fx: Fixture): Promise<Relay> {
  fx.relay = await openRelay(fx.dir, relayRules(), undefined, null, fx.backend.backends);
  return fx.relay;
}

async function modelAt(relay: Relay, params: Record<string, Hash>, metaHash: Hash) {
  const meta = parseMetaPayload(await relay.objects.read((await relay.index.block(metaHash))!.header.payload_hash));
  const out: Record<string, Float32Array> = {};
  for (const slot of slotPlan(meta.config)) Object.assign(out, slotParams(slot, await relay.objects.read((await relay.index.block(params[slot.name]!))!.header.payload_hash)));
  return { meta, params: out };
}

describe('blyan grow', () => {
  it('appends upcycled experts for a dataset to the current version; the old meta head keeps the old model', async () => {
    const ctx = await withDataset();
    f = ctx.f;
    const lines: string[] = [];
    expect(await grow(['--store', f.dir, ...f.backend.flags, '--dataset', 'harbours', '--experts', '2'], (l) => lines.push(l))).toBe(0);
    const relay = await reopen(f);
    const head = (await relay.index.metaHead())!;
    expect(head).not.toBe(f.meta);
    const version = (await relay.index.versionOf(head))!;
    expect(version, 'a growth continues the model version').toBe(await relay.index.versionOf(f.meta));
    const metaBlock = (await relay.index.block(head))!.header;
    expect(metaBlock).toMatchObject({ index: 1, prev: f.meta, depends_on: [f.meta, ctx.dataset] });

    const before = await modelAt(relay, await relay.index.paramIndexAt(f.meta), f.meta);
    const after = await modelAt(relay, await relay.index.paramIndex(version), head);
    const tokenizer = Tokenizer.fromJSON(before.meta.tokenizer);
    const sources = mostRouted(routingCounts(before.params, before.meta.config, evalStream(tokenizer, TEXTS), 64), 2);
    expect(after.meta.growth).toEqual([{ dataset: 'harbours', datasetBlock: ctx.dataset, first: 4, sources }]);
    const grown = growModel({ config: before.meta.config, params: before.params }, sources);
    expect(after.meta.config).toEqual(grown.config);
    expect(after.params).toEqual(grown.params);
    expect(before.meta.config.nExperts).toBe(4);
    expect(before.params['layers.0.router']!.length).toBe(4 * before.meta.config.dModel);

    const lineage = new Lineage(f.meta);
    const source = async (hash: Hash) => {
      const b = (await relay.index.block(hash))!;
      return { header: b.header, verdict: b.verdict };
    };
    await expect(lineage.verifyIndex({ meta: head, version, slots: await relay.index.paramIndex(version) }, source), 'a browser trusts the grown index back to genesis').resolves.toBeGreaterThan(0);

    const routers = await relay.index.history(version, 'layer0.router');
    expect(routers.map((h) => h.index)).toEqual([0, 1]);
    expect(await relay.index.history(version, 'layer0.expert0')).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/grown to 6 experts per layer \(router normalized over the first 4\); 7 blocks/);
    await relay.close();
    const report: string[] = [];
    expect(await verify(['--store', f.dir, ...f.backend.flags], (l) => report.push(l)), report.join('\n')).toBe(0);
    await reopen(f);
  });

  it('refuses an unknown dataset and a key that is no authority, storing nothing', async () => {
    const ctx = await withDataset();
    f = ctx.f;
    await expect(grow(['--store', f.dir, ...f.backend.flags, '--dataset', 'nowhere'], () => undefined)).rejects.toThrow(/has no dataset nowhere on chain D/);
    const keyFile = join(f.dir, 'miner.key');
    await writeFile(keyFile, '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a\n');
    const refused = grow(['--store', f.dir, ...f.backend.flags, '--dataset', 'harbours', '--authority-key', keyFile], () => undefined);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(`${miner.address.toLowerCase()} is not an authority`);
    await expect(grow(['--store', f.dir, ...f.backend.flags], () => undefined)).rejects.toThrow('grow needs --dataset NAME');
    const relay = await reopen(f);
    expect(await relay.index.metaHead()).toBe(f.meta);
    const c = await relay.index.counts();
    expect(c.A + c.B + c.D).toBe(f.genesis.length + 1);
  });
});
