import type { CorpusSplit } from '../data/corpus.ts';
import type { ParamMap } from '../reference/arrays.ts';
import type { ModelConfig } from '../reference/config.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { TrainBackendFactory } from './backend.ts';
import { type TrainedInfo, encodeCheckpoint, splitHashes } from './checkpoint.ts';
import { loadSaved } from './resume.ts';
import { runFiles } from './run-files.ts';
import { loadOrTrainTokenizer } from './tokenizer-file.ts';
import { Validation } from './validation.ts';

/** Writes the model checkpoint the relay's genesis command reads, pinning the corpus splits. */
export function exportModel(path: string, cfg: ModelConfig, params: ParamMap, tokenizer: Tokenizer, corpus: CorpusSplit, trained: TrainedInfo): void {
  writeFileAtomic(path, encodeCheckpoint(cfg, params, tokenizer, splitHashes(corpus), trained));
}

/**
 * Exports the run in `dir` at its last checkpoint (finished or not) as checkpoint.tensors, with
 * its val bits per byte measured now on the run's validation windows. Reads the state only, so it
 * is safe while the run is still training.
 */
export async function exportRun(dir: string, cfg: ModelConfig, corpus: CorpusSplit, backendFactory: TrainBackendFactory): Promise<TrainedInfo> {
  const files = runFiles(dir);
  const saved = loadSaved(files, cfg);
  if (saved === null) throw new Error(`${files.state} does not exist: nothing to export`);
  const tokenizer = loadOrTrainTokenizer(files.tokenizer, corpus.train, cfg.vocabSize);
  const { run, state } = saved;
  const validation = new Validation(tokenizer, corpus.val, cfg.contextLength, run.valWindows);
  const backend = await backendFactory(cfg, state);
  let bpb: number;
  try {
    ({ bpb } = await validation.run(backend, run.batch));
  } finally {
    await backend.dispose();
  }
  const trained = { steps: state.step, tokens: state.step * run.batch * cfg.contextLength, seed: run.seed, val_bpb: bpb };
  exportModel(files.checkpoint, cfg, state.params, tokenizer, corpus, trained);
  return trained;
}
