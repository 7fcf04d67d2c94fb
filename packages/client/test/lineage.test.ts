import { type Hash, blockHash, buildBlock } from '@blyan/block';
import { describe, expect, it } from 'vitest';
import { Lineage, TrustError } from '../src/lineage.ts';
import { Network, authority, contributor, evaluator, stranger } from './chains.ts';

/** The TrustError `check` throws. */
async function refusal(check: Promise<unknown>): Promise<TrustError> {
  const e = await check.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(TrustError);
  return e as TrustError;
}

describe('Lineage', () => {
  it('accepts heads moved by a named authority and by a named evaluator’s verdict, and walks only new blocks the next time', async () => {
    const net = await Network.found();
    net.add(await net.slotBlock('layer0.expert0', null, authority));
    net.add(await net.slotBlock('layer0.expert1', net.verdictBy(evaluator), contributor));
    const lineage = new Lineage(net.genesis);
    await lineage.verifyIndex(net.index, net.source);
    expect(net.asked).toHaveLength(net.blocks.size);

    const fresh = net.add(await net.slotBlock('layer0.expert1', net.verdictBy(evaluator), contributor));
    net.asked.length = 0;
    await lineage.verifyIndex(net.index, net.source);
    expect(net.asked).toEqual([fresh]);
  });

  it('refuses a validly signed model that starts at another genesis', async () => {
    const ours = await Network.found();
    const foreign = await Network.found(stranger);
    const e = await refusal(new Lineage(ours.genesis).verifyIndex(foreign.index, foreign.source));
    expect(e.reason).toBe('foreign_genesis');
    expect(e.hash).toBe(foreign.genesis);
    expect(e.message).toContain(`starts at genesis ${foreign.genesis}, and this app trusts only genesis ${ours.genesis}`);
  });

  it('refuses a head signed by a stranger without a verdict', async () => {
    const net = await Network.found();
    const head = net.add(await net.slotBlock('layer0.expert0', null, stranger));
    const e = await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source));
    expect([e.reason, e.hash]).toEqual(['unattested', head]);
    expect(e.message).toContain(`block layer0.expert0 (${head}) is not attested`);
  });

  it('refuses a verdict signed by an evaluator the meta block does not name', async () => {
    const net = await Network.found();
    const head = net.add(await net.slotBlock('layer0.expert0', net.verdictBy(stranger), contributor));
    const e = await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source));
    expect([e.reason, e.hash]).toEqual(['unattested', head]);
  });

  it('refuses a verdict that rejected the block', async () => {
    const net = await Network.found();
    net.add(await net.slotBlock('layer0.expert0', net.verdictBy(evaluator, false), contributor));
    expect((await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source))).reason).toBe('unattested');
  });

  it('refuses a forged index entry: the listed head’s lineage reaches another genesis, not the pinned one', async () => {
    const net = await Network.found();
    const foreign = await Network.found(stranger);
    const forged = foreign.index.slots['layer0.expert0']!;
    net.blocks.set(forged, foreign.blocks.get(forged)!);
    net.index = { ...net.index, slots: { ...net.index.slots, 'layer0.expert0': forged } };
    const e = await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source));
    expect([e.reason, e.hash]).toEqual(['broken_lineage', forged]);
    expect(e.message).toContain(`does not descend from genesis ${net.genesis}`);
  });

  it('refuses a forged index entry: the listed head is another slot’s block', async () => {
    const net = await Network.found();
    net.index = { ...net.index, slots: { ...net.index.slots, 'layer0.expert0': net.index.slots['layer0.expert1']! } };
    const e = await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source));
    expect(e.reason).toBe('broken_lineage');
    expect(e.message).toContain('as the head of layer0.expert0');
  });

  it('refuses another slot’s block as a head once that block is remembered from an earlier walk', async () => {
    const net = await Network.found();
    const lineage = new Lineage(net.genesis);
    await lineage.verifyIndex(net.index, net.source);
    const other = net.index.slots['layer0.expert1']!;
    net.asked.length = 0;
    const e = await refusal(lineage.verifyHead(other, 'layer0.expert0', net.source));
    expect([e.reason, e.hash]).toEqual(['broken_lineage', other]);
    expect(e.message).toContain(`the relay lists ${other} as the head of layer0.expert0`);
    expect(net.asked).toEqual([]);
  });

  it('refuses a header served under a hash it does not hash to', async () => {
    const net = await Network.found();
    const head = net.index.slots['layer0.expert0']!;
    const real = net.blocks.get(head)!;
    net.blocks.set(head, { ...real, header: { ...real.header, created_at: real.header.created_at + 1 } });
    const e = await refusal(new Lineage(net.genesis).verifyIndex(net.index, net.source));
    expect([e.reason, e.hash]).toEqual(['broken_lineage', head as Hash]);
    expect(e.message).toContain('its header hashes to');
  });

  describe('with the genesis headers the app shipped with', () => {
    it('proves the genesis without fetching or verifying a block of it, and walks only what is newer', async () => {
      const net = await Network.found();
      const lineage = new Lineage(net.genesis, undefined, net.shipped);
      expect(await lineage.verifyIndex(net.index, net.source)).toBe(0);
      expect(net.asked).toEqual([]);

      const fresh = net.add(await net.slotBlock('layer0.expert0', net.verdictBy(evaluator), contributor));
      expect(await lineage.verifyIndex(net.index, net.source)).toBe(1);
      expect(net.asked).toEqual([fresh]);
    });

    it('refuses another slot’s shipped genesis block listed as a head', async () => {
      const net = await Network.found();
      const other = net.index.slots['layer0.expert1']!;
      net.index = { ...net.index, slots: { ...net.index.slots, 'layer0.expert0': other } };
      const e = await refusal(new Lineage(net.genesis, undefined, net.shipped).verifyIndex(net.index, net.source));
      expect([e.reason, e.hash]).toEqual(['broken_lineage', other]);
      expect(e.message).toContain('as the head of layer0.expert0');
      expect(net.asked).toEqual([]);
    });

    it('refuses a shipped set whose meta block does not hash to the pin, on every check', async () => {
      const ours = await Network.found();
      const foreign = await Network.found(stranger);
      const lineage = new Lineage(ours.genesis, undefined, foreign.shipped);
      for (const check of [lineage.verifyIndex(ours.index, ours.source), lineage.verifyHead(ours.index.slots['layer0.expert0']!, 'layer0.expert0', ours.source)]) {
        const e = await refusal(check);
        expect([e.reason, e.hash]).toEqual(['foreign_genesis', foreign.genesis]);
        expect(e.message).toContain(`not those of its pin ${ours.genesis}`);
      }
      expect(ours.asked).toEqual([]);
    });

    it('refuses a shipped set that slips in a block other than a slot genesis of the pin', async () => {
      const net = await Network.found();
      const later = net.add(await net.slotBlock('layer0.expert0', net.verdictBy(evaluator), contributor));
      const e = await refusal(new Lineage(net.genesis, undefined, [...net.shipped, net.blocks.get(later)!.header]).verifyIndex(net.index, net.source));
      expect([e.reason, e.hash]).toEqual(['foreign_genesis', later]);
    });

    it('refuses a shipped slot genesis whose type is not the one the meta block declares for its slot', async () => {
      const net = await Network.found();
      const { header } = await buildBlock({ type: 'dense', index: 0, name: 'layer0.expert0', depends_on: [net.genesis], prev: null, payload: new Uint8Array([0, 7]), meta: { encoding: 'tensors-v1' }, created_at: 1_760_000_000_000 }, authority);
      const shipped = [net.shipped[0]!, header, ...net.shipped.slice(2)];
      const e = await refusal(new Lineage(net.genesis, undefined, shipped).verifyIndex(net.index, net.source));
      expect([e.reason, e.hash]).toEqual(['foreign_genesis', blockHash(header)]);
      expect(e.message).toContain('is a dense block, but the pinned meta block declares slot layer0.expert0 of type expert');
    });

    it('refuses a shipped set with two genesis blocks for one slot', async () => {
      const net = await Network.found();
      const { slots } = net.index;
      net.index = { ...net.index, slots: {} };
      const second = net.add(await net.slotBlock('layer0.expert0', null, stranger));
      net.index = { ...net.index, slots };
      expect(second).not.toBe(slots['layer0.expert0']);
      const e = await refusal(new Lineage(net.genesis, undefined, [...net.shipped, net.blocks.get(second)!.header]).verifyIndex(net.index, net.source));
      expect([e.reason, e.hash]).toEqual(['foreign_genesis', second]);
      expect(e.message).toContain('a second genesis block of slot layer0.expert0');
    });

    it('refuses a malformed shipped header', async () => {
      const net = await Network.found();
      const e = await refusal(new Lineage(net.genesis, undefined, [...net.shipped, { name: 'x' }]).verifyIndex(net.index, net.source));
      expect(e.message).toContain('header 3 is malformed');
    });

    it('still fully verifies a relay head that forges a genesis block of the pinned model', async () => {
      const net = await Network.found();
      const { slots } = net.index;
      net.index = { ...net.index, slots: {} };
      const forged = net.add(await net.slotBlock('layer0.expert0', null, stranger));
      net.index = { ...net.index, slots: { ...slots, 'layer0.expert0': forged } };
      expect(forged).not.toBe(slots['layer0.expert0']);
      const e = await refusal(new Lineage(net.genesis, undefined, net.shipped).verifyIndex(net.index, net.source));
      expect([e.reason, e.hash]).toEqual(['unattested', forged]);
      expect(net.asked).toEqual([forged]);
    });
  });
});
