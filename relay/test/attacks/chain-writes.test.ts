import { randomBytes } from 'node:crypto';
import { type Block, type ParamType, type Signer, blockHash, buildBlock, encodeBlock, encodeTensors, quantizeInt8 } from '@blyan/block';
import { encodeSlotPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TINY, type Fixture, fixture, genesisAccount, paramBlock, post, storeState, submit } from '../helpers.ts';

/** Every SHA-256 the relay computes goes through this module: count the bytes it hashes. */
const hashed = vi.hoisted(() => ({ bytes: 0 }));
vi.mock(import('../../../packages/block/src/sha256-node.ts'), async (original) => {
  const real = (await original()).sha256;
  return {
    sha256: (...parts: Uint8Array[]) => {
      for (const p of parts) hashed.bytes += p.length;
      return real(...parts);
    },
  };
});

let f: Fixture;
const plan = new Map(slotPlan(TINY).map((s) => [s.name, s]));
const genesisOf = (name: string) => f.genesis.find((b) => b.header.name === name)!;
const stranger = () => privateKeyToAccount(generatePrivateKey());

beforeEach(async () => {
  f = await fixture(64 << 20);
});
afterEach(() => f.close());

/** A new version of `name` replacing its genesis block, with `payload`, signed by `signer`. */
function nextVersion(name: string, payload: Uint8Array, signer: Signer): Promise<Block> {
  const prev = genesisOf(name);
  const p = blockHash(prev.header);
  return buildBlock(
    { type: prev.header.type as ParamType, index: 1, name, depends_on: [f.meta, p], prev: p, payload, tile_size: 4096, meta: { encoding: 'tensors-v1' } },
    signer,
  );
}

/** Sends `send`, expects `status` and `code`, and the store exactly as before. */
async function refused(send: () => Promise<Response>, status: number, code: string): Promise<void> {
  const before = await storeState(f);
  const r = await send();
  expect(await r.json()).toEqual({ error: { code, message: expect.any(String) } });
  expect(r.status).toBe(status);
  expect(await storeState(f)).toEqual(before);
  expect((await (await f.app.request('/v1/params')).json()).slots).toEqual(f.slots);
}

describe('attacks on chain writes (POST /v1/blocks)', () => {
  it.each(['layer0.expert0', 'layer0.attn', 'layer0.router', 'embed'])(
    'a fresh key, not signed in, posts 200,000 random bytes as a new %s: 403, nothing stored',
    async (name) => {
      const b = await nextVersion(name, new Uint8Array(randomBytes(200_000)), stranger());
      await refused(() => submit(f.app, b), 403, 'not_authorized');
    },
  );

  it('valid-shaped poison: every layer-0 expert replaced by −3·W by a fresh key: 403 for each, nothing stored', async () => {
    const attacker = stranger();
    for (const slot of slotPlan(TINY).filter((s) => s.type === 'expert' && s.layer === 0)) {
      const params = slotParams(slot, genesisOf(slot.name).payload);
      for (const w of Object.values(params)) for (let i = 0; i < w.length; i++) w[i] = -3 * w[i]!;
      const poison = await nextVersion(slot.name, encodeSlotPayload(slot, params, 'int8'), attacker);
      await refused(() => submit(f.app, poison), 403, 'not_authorized');
    }
  });

  it("an authority's block of random bytes for an expert slot: 422 payload_shape", async () => {
    const b = await nextVersion('layer1.expert1', new Uint8Array(randomBytes(5000)), genesisAccount);
    await refused(() => submit(f.app, b), 422, 'payload_shape');
  });

  it("an authority's expert block with a transposed tensor: 422 payload_shape", async () => {
    const slot = plan.get('layer1.expert1')!;
    const params = slotParams(slot, genesisOf(slot.name).payload);
    const tensors = Object.fromEntries(slot.tensors.map(({ name, shape }) => [name, quantizeInt8(params[name]!, name.endsWith('w1') ? [...shape].reverse() : [...shape])]));
    const b = await nextVersion(slot.name, encodeTensors(tensors), genesisAccount);
    await refused(() => submit(f.app, b), 422, 'payload_shape');
  });

  it("an authority's f32 expert block where the model's experts are int8: 422 payload_shape", async () => {
    const slot = plan.get('layer1.expert1')!;
    const b = await nextVersion(slot.name, encodeSlotPayload(slot, slotParams(slot, genesisOf(slot.name).payload), 'f32'), genesisAccount);
    await refused(() => submit(f.app, b), 422, 'payload_shape');
  });

  it("an authority's router block with an extra tensor smuggled in: 422 payload_shape", async () => {
    const slot = plan.get('layer1.router')!;
    const params = slotParams(slot, genesisOf(slot.name).payload);
    const tensors = Object.fromEntries([...slot.tensors.map(({ name, shape }) => [name, { dtype: 'f32' as const, shape: [...shape], data: params[name]! }]), ['extra', { dtype: 'f32' as const, shape: [4], data: new Float32Array(4) }]]);
    const b = await nextVersion(slot.name, encodeTensors(tensors), genesisAccount);
    await refused(() => submit(f.app, b), 422, 'payload_shape');
  });

  it("an authority's valid block sent as text/plain: 415, nothing stored", async () => {
    const b = await paramBlock({ meta: f.meta, name: 'layer1.expert3', prev: genesisOf('layer1.expert3'), seed: 4 });
    await refused(() => post(f.app, encodeBlock(b), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('a bad signature on a 60 MiB payload: 401 before a byte of the payload is hashed', async () => {
    const size = 60 << 20;
    const good = await paramBlock({ meta: f.meta, name: 'layer1.expert3', prev: genesisOf('layer1.expert3'), seed: 5 });
    const header = { ...good.header, payload_size: size, sig: `0x${'11'.repeat(65)}` as const };
    const body = encodeBlock({ header, payload: new Uint8Array(size) });
    hashed.bytes = 0;
    await refused(() => post(f.app, body), 401, 'bad_signature');
    expect(hashed.bytes).toBeLessThan(64 * 1024);
  });
});
