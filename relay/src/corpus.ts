import { type CorpusSplit, loadCorpusSplit } from '@blyan/model/data';

let split: CorpusSplit | undefined;

/** The corpus split, read once on first use: the hidden split judges contributions, the train split is cut into shards. */
export const corpusDocs = {
  hidden: () => (split ??= loadCorpusSplit()).hidden,
  train: () => (split ??= loadCorpusSplit()).train,
};
