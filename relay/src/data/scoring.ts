import type { Hash } from '@blyan/block';
import { type ModelConfig, type ParamMap, Tokenizer } from '@blyan/model';
import { evalStream, windowBatch } from '@blyan/model/eval';
import type { OnnxModel } from '@blyan/model/onnx';
import type { EvalContext, HiddenEvaluator } from '../contributions/hidden-eval.ts';
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
 * inputs (each target scored once, context restarting at each window), windows of equal length
 * run `perBatch` at a time through the relay's ONNX forward graph.
 */
async function streamNats(model: OnnxModel, cfg: ModelConfig, params: ParamMap, stream: Int32Array, perBatch: number): Promise<number> {
  const targets = stream.length - 1;
  const T = cfg.contextLength;
  const full = Math.floor(targets / T);
  const groups: { starts: number[]; length: number }[] = [];
  for (let i = 0; i < full; i += perBatch) groups.push({ starts: Array.from({ length: Math.min(perBatch, full - i) }, (_, k) => (i + k) * T), length: T });
  if (targets % T > 0) groups.push({ starts: [full * T], length: targets % T });
  let nats = 0;
  for (const g of groups) {
    const b = windowBatch(stream, g.starts.map((start) => ({ start, scoreFrom: 0 })), g.length);
    const { ce } = await model.forward(params, { tokens: b.inputs, targets: b.targets, B: b.B, T: b.T });
    nats += ce * b.B * b.T;
  }
  return nats;
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
