import type { Hash } from '@blyan/block';
import { type ModelConfig, type ParamMap, Tokenizer } from '@blyan/model';
import { evalStream } from '@blyan/model/eval';
import type { OnnxModel } from '@blyan/model/onnx';
import type { EvalContext, HiddenEvaluator } from '../contributions/hidden-eval.ts';
import { windowNats } from '../contributions/window-nats.ts';
import type { IndexStore } from '../store/index-store.ts';

/** One document's L1 figure: the current model's bits per byte, over how many tokens. */
export interface DocScore {
  readonly bpb: number;
  readonly tokens: number;
}

/** Scores documents with the model as the chain's heads under meta block `meta` make it. */
export interface DocScorer {
  score(meta: Hash, texts: readonly string[]): Promise<DocScore[]>;
}

/**
 * Cross-entropy (nats) of every target of `stream`, cut into consecutive windows of at most T
 * inputs (each target scored once, context restarting at each window), the full windows run
 * `perBatch` at a time through the relay's ONNX forward graph, then the shorter last one.
 */
async function streamNats(model: OnnxModel, cfg: ModelConfig, params: ParamMap, stream: Int32Array, perBatch: number): Promise<number> {
  const targets = stream.length - 1;
  const T = cfg.contextLength;
  const full = Array.from({ length: Math.floor(targets / T) }, (_, k) => ({ start: k * T, scoreFrom: 0 }));
  const nats = await windowNats(model, params, stream, full, T, perBatch);
  const rest = targets % T;
  return rest === 0 ? nats : nats + (await windowNats(model, params, stream, [{ start: full.length * T, scoreFrom: 0 }], rest, 1));
}

/** The model's bits per byte on one document, scored as its own stream `<|endoftext|> text <|endoftext|>`. */
export async function documentBpb(model: OnnxModel, cfg: ModelConfig, params: ParamMap, tokenizer: Tokenizer, text: string, perBatch: number): Promise<DocScore> {
  const stream = evalStream(tokenizer, [text]);
  const nats = await streamNats(model, cfg, params, stream, perBatch);
  return { bpb: nats / Math.LN2 / new TextEncoder().encode(text).length, tokens: stream.length - 1 };
}

/**
 * L1's scorer: the relay's hidden-evaluation path (HiddenEvaluator's ONNX session on
 * onnxruntime-node, the model of the current heads), each document scored as its own stream
 * (documentBpb), bits per byte = nats / ln 2 / UTF-8 bytes.
 */
export function modelScorer(evaluator: HiddenEvaluator, index: IndexStore, perBatch: number): DocScorer {
  const tokenizers = new WeakMap<EvalContext, Tokenizer>();
  return {
    async score(meta, texts) {
      const ctx = await evaluator.context(meta);
      const params = await evaluator.assemble(ctx, await index.paramIndex((await index.versionOf(meta))!));
      let tokenizer = tokenizers.get(ctx);
      if (tokenizer === undefined) tokenizers.set(ctx, (tokenizer = Tokenizer.fromJSON(ctx.payload.tokenizer)));
      const out: DocScore[] = [];
      for (const text of texts) out.push(await documentBpb(ctx.model, ctx.payload.config, params, tokenizer, text, perBatch));
      return out;
    },
  };
}
