import { fileURLToPath } from 'node:url';
import type { TensorMap } from '@blyan/block';
import type { ModelConfig, ParamMap, Tokenizer } from '@blyan/model';
import { throughBlocks } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';

export const GENESIS_V1 = fileURLToPath(new URL('../../../public/genesis/checkpoint.tensors', import.meta.url));
export const GENESIS_V2 = fileURLToPath(new URL('../../../public/genesis-v2/checkpoint.tensors', import.meta.url));

/** The one-sentence prompt the benchmarks use. */
export const PROMPT = 'Fellow-Citizens of the Senate and House of Representatives: The state of the Union';

/**
 * A committed genesis checkpoint as a client sees it: the engine's tensors from the int8 expert
 * blocks, and the CPU reference's f32 params from the very same payloads.
 */
export function genesisModel(path: string): { config: ModelConfig; tokenizer: Tokenizer; tensors: TensorMap; reference: ParamMap } {
  const { config, tokenizer, params } = readCheckpoint(path);
  const { tensors, params: reference } = throughBlocks(config, params, 'int8');
  return { config, tokenizer, tensors, reference };
}
