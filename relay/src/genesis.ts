import type { Block, Signer } from '@blyan/block';
import { type GenesisOptions, genesisBlocks } from '@blyan/model/blocks';
import { decodeCheckpoint, recordedSplits } from '@blyan/model/checkpoint';

export type CheckpointGenesisOptions = Pick<GenesisOptions, 'experts' | 'createdAt' | 'trust'>;

/** The genesis blocks of a checkpoint file's bytes (train/checkpoint.ts format), errors naming `source`. */
export async function genesisFromCheckpoint(bytes: Uint8Array, source: string, signer: Signer, opts: CheckpointGenesisOptions = {}): Promise<Block[]> {
  const checkpoint = decodeCheckpoint(bytes, source);
  return genesisBlocks({ ...checkpoint, splits: recordedSplits(checkpoint, source) }, signer, opts);
}
