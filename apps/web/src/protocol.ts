/** Messages between the page and the model worker. The worker owns the relay, the cache and the model. */
import type { Hash } from '@blyan/block';
import type { Distrust } from '@blyan/client';
import type { PassName, PipelineState } from '@blyan/gpu';
import type { ModelConfig } from '@blyan/model';

/**
 * dynamic: top-k per token over all experts. static: each layer keeps the experts chosen from the
 * prompt (a model with sequence budgets: its default budget). low-bandwidth: the same with the
 * model's low-bandwidth budget (a model without budgets keeps topK experts per layer).
 */
export type RoutingMode = 'dynamic' | 'static' | 'low-bandwidth';

/**
 * Why the download planner fetched an expert: `prompt`: the prompt's tokens route to it (or, with a
 * budget, it is in the set the prompt chose), fetched before the first token; `predicted`: the
 * prompt's router mass says the answer is likely to need it, prefetched while answering;
 * `on-demand`: a generated token routed to an expert nobody predicted, fetched while it waited.
 */
export type FetchReason = 'prompt' | 'predicted' | 'on-demand';

/** One expert the planner fetched for an answer: why, from where, and its share of the prompt's router mass in its layer. */
export interface PlannedFetch {
  slot: string;
  layer: number;
  expert: number;
  reason: FetchReason;
  source: 'network' | 'cache';
  mass: number;
}

export interface Sampling {
  temperature: number;
  topK: number;
  topP: number;
  maxTokens: number;
  seed: number;
}

export type Backend = 'webgpu' | 'wasm' | 'cpu';

/**
 * What the user asks for: the fastest engine this device really has (WebGPU on a GPU; on a
 * software-only adapter, whichever a short calibration finds fastest), WebGPU (falling back to
 * wasm), onnxruntime-web wasm, or the CPU reference.
 */
export type BackendChoice = 'auto' | 'webgpu' | 'wasm' | 'cpu';

export type ToWorker =
  /** `pin`: the genesis meta block hash this build trusts (its own genesis.json), never the relay's word; `genesisHeaders`: the signed genesis headers shipped beside it. */
  | { type: 'init'; relay: string; pin: Hash; genesisHeaders?: unknown[]; cacheLimitBytes: number; backend: BackendChoice }
  | { type: 'prompt'; id: number; text: string; sampling: Sampling; routing: RoutingMode }
  | { type: 'stop'; id: number }
  | { type: 'clear-cache' };

/** One block's trip from the relay (or the cache) to the model. */
export interface BlockEvent {
  hash: string;
  slot: string;
  source: 'network' | 'cache';
  state: 'loading' | 'verified' | 'failed';
  received: number;
  total: number;
  verifiedTiles: number;
  tiles: number;
  refetched: number;
}

/** Per layer: the experts this answer used, the static set (if any), and where each came from. */
export interface LayerRoute {
  /**
   * Experts tokens were routed to (wasm, CPU reference); on WebGPU, whose routing is not read back
   * per token, the experts the prompt routed to plus any a decode step asked for.
   */
  used: number[];
  selected: number[] | null;
  downloaded: number[];
  cached: number[];
}

/** Why an answer ended: it reached Max tokens, the model ended the text, the context was full, or the user stopped it. */
export type AnswerEnd = 'max-tokens' | 'end-of-text' | 'context-full' | 'stopped';

export interface AnswerStats {
  tokens: number;
  end: AnswerEnd;
  /** The prompt's tokens, and how many of them (its last ones) the model read: at most its context less the answer's room. */
  promptTokens: number;
  promptTokensRead: number;
  contextLength: number;
  ttftMs: number;
  /**
   * Where the time to the first token went: phase → milliseconds it ran (heads check, router
   * probe, IndexedDB reads, transfer and verification, GPU upload and prefill, ...). Phases may
   * overlap (blocks download in parallel), so they need not add up to ttftMs.
   */
  ttftParts: Record<string, number>;
  totalMs: number;
  bytesDownloaded: number;
  /** Of bytesDownloaded, the expert blocks' (the rest is the meta and dense blocks of a first start). */
  expertBytesDownloaded: number;
  /** Expert blocks the download planner fetched from the relay for this answer (prompt set, predicted, on demand). */
  expertsDownloaded: number;
  /** Experts the answer needed that were in memory or IndexedDB already. */
  expertsFromCache: number;
  /** Slot → block hash of every expert this answer ran. */
  expertBlocks: Record<string, string>;
  /**
   * Block hash → how many of this answer's tokens (prompt and generated) that expert block
   * computed: exact on wasm and the CPU reference, an even split of each layer's exact total on
   * WebGPU (usage/expert-tokens.ts). What the usage report claims.
   */
  expertTokens: Record<string, number>;
}

/** The last check of the relay's heads back to the pinned genesis: blocks verified (0 when nothing was new) and its milliseconds. */
export interface TrustCheck {
  blocks: number;
  ms: number;
}

export interface ModelInfo {
  meta: string;
  config: ModelConfig;
  staticExpertsPerLayer: number;
  modelBytes: number;
  online: boolean;
  trust: TrustCheck;
}

export type FromWorker =
  | { type: 'status'; text: string }
  /**
   * The model is ready: the worker's milliseconds from init, where they went (phase → ms; phases
   * may overlap), and where the WebGPU engine's pipelines were then (pass → state; none off WebGPU).
   */
  | { type: 'started'; ms: number; parts: Record<string, number>; pipelines: Partial<Record<PassName, PipelineState>> }
  /** The engine's pipelines left for after the start are compiled, in `ms` from when they began. */
  | { type: 'compiled'; ms: number }
  | { type: 'backend'; backend: Backend; notice: string | null }
  | { type: 'model'; info: ModelInfo }
  | { type: 'block'; event: BlockEvent }
  | { type: 'cache'; bytes: number; blocks: number }
  | { type: 'token'; id: number; text: string }
  | { type: 'route'; id: number; layers: LayerRoute[] }
  /** Every expert the download planner fetched for this answer so far, in order. */
  | { type: 'plan'; id: number; fetches: PlannedFetch[] }
  | { type: 'done'; id: number; stats: AnswerStats; stopped: boolean }
  | { type: 'error'; id: number | null; message: string; block: string | null }
  /** The relay failed the lineage check: nothing it served is used or kept. */
  | { type: 'refused'; reason: Distrust; message: string };
