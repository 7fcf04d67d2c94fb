import { type Block, type Signer, type TensorMap, blockHash, buildBlock, encodeTensors, quantizeInt8, toF32 } from '@blyan/block';
import { decodeCheckpoint } from './checkpoint.ts';
import { type ModelConfig, archOf, slotPlan } from './model-config.ts';

/**
 * The meta block payload: a JSON object, so later fields (tokenizer, data split hashes) can be
 * added beside the config without a format change.
 */
export interface MetaPayload {
  config: ModelConfig;
  [k: string]: unknown;
}

export interface GenesisOptions {
  /** Store expert weights as f32 instead of int8 with per-output-channel scales. */
  f32?: boolean;
  /** Timestamp for every block (defaults to now). */
  createdAt?: number;
}

const META_NAME = 'model';

/**
 * Cuts a checkpoint into the genesis blocks, all signed by `signer`: the meta block first (config
 * payload, `arch` = hash of the config, every slot declared), then one block per slot, each
 * depending on the meta block. Dense and router tensors keep their checkpoint dtype.
 */
export async function genesisBlocks(checkpoint: Uint8Array, signer: Signer, opts: GenesisOptions = {}): Promise<Block[]> {
  const { config, tensors } = decodeCheckpoint(checkpoint);
  const created_at = opts.createdAt ?? Date.now();
  const plan = slotPlan(config);
  const payload: MetaPayload = { config };
  const meta = await buildBlock(
    {
      type: 'meta',
      index: 0,
      name: META_NAME,
      depends_on: [],
      prev: null,
      payload: new TextEncoder().encode(JSON.stringify(payload)),
      meta: { arch: archOf(config), slots: plan.map(({ name, type }) => ({ name, type })) },
      created_at,
    },
    signer,
  );
  const metaHash = blockHash(meta.header);
  const blocks: Block[] = [meta];
  for (const slot of plan) {
    const picked: TensorMap = {};
    for (const { name } of slot.tensors) {
      const t = tensors[name]!;
      picked[name] = slot.type !== 'expert' ? t : opts.f32 ? { dtype: 'f32', shape: t.shape, data: toF32(t) } : quantizeInt8(toF32(t), t.shape);
    }
    blocks.push(
      await buildBlock(
        {
          type: slot.type,
          index: 0,
          name: slot.name,
          depends_on: [metaHash],
          prev: null,
          payload: encodeTensors(picked),
          meta: { encoding: 'tensors-v1' },
          created_at,
        },
        signer,
      ),
    );
  }
  return blocks;
}
