import { join } from 'node:path';

/** The files of a training run's output directory. */
export function runFiles(dir: string): { state: string; tokenizer: string; checkpoint: string } {
  return {
    /** Params, AdamW moments, step and settings: what a rerun resumes from. */
    state: join(dir, 'state.tensors'),
    tokenizer: join(dir, 'tokenizer.json'),
    /** The trained model for the relay's genesis command. */
    checkpoint: join(dir, 'checkpoint.tensors'),
  };
}
