import { createHash } from 'node:crypto';
import type { Json, ParamType } from '@blyan/block';

/** The model hyperparameters a checkpoint carries; fields beyond the shape-defining ones pass through. */
export interface ModelConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nExperts: number;
  topK: number;
  dFF: number;
  contextLength: number;
  [k: string]: Json;
}

const SHAPE_FIELDS = ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nExperts', 'topK', 'dFF', 'contextLength'] as const;

export function parseModelConfig(x: unknown): ModelConfig {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error('model config must be a JSON object');
  const c = x as Record<string, unknown>;
  for (const k of SHAPE_FIELDS) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`config.${k} must be a positive integer, got ${String(v)}`);
  }
  if ((c.topK as number) > (c.nExperts as number)) throw new Error(`config.topK (${String(c.topK)}) exceeds config.nExperts (${String(c.nExperts)})`);
  return c as ModelConfig;
}

/** RFC 8785 canonical JSON for plain JSON values: sorted keys, no whitespace. */
function canonicalJson(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(',')}}`;
}

/** `meta.arch`: SHA-256 of the canonical config, so any config change starts a new model version. */
export function archOf(config: ModelConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

export interface TensorSpec {
  name: string;
  shape: number[];
}

/** One parameter block: its slot name, type and the tensors it holds (full parameter names). */
export interface SlotPlan {
  name: string;
  type: ParamType;
  tensors: TensorSpec[];
}

/**
 * How a model is cut into blocks: `embed` (embedding and final norm), then per layer
 * `layer{l}.attn` (norms and attention projections), `layer{l}.router`, and one
 * `layer{l}.expert{e}` per expert (SwiGLU w1, w2, w3). Matrices are [out, in].
 */
export function slotPlan(c: ModelConfig): SlotPlan[] {
  const d = c.dModel;
  const plan: SlotPlan[] = [
    { name: 'embed', type: 'dense', tensors: [{ name: 'embed', shape: [c.vocabSize, d] }, { name: 'final_norm', shape: [d] }] },
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}`;
    plan.push({
      name: `layer${l}.attn`,
      type: 'dense',
      tensors: [
        { name: `${p}.attn_norm`, shape: [d] },
        { name: `${p}.wq`, shape: [d, d] },
        { name: `${p}.wk`, shape: [d, d] },
        { name: `${p}.wv`, shape: [d, d] },
        { name: `${p}.wo`, shape: [d, d] },
        { name: `${p}.ffn_norm`, shape: [d] },
      ],
    });
    plan.push({ name: `layer${l}.router`, type: 'router', tensors: [{ name: `${p}.router`, shape: [c.nExperts, d] }] });
    for (let e = 0; e < c.nExperts; e++) {
      const x = `${p}.experts.${e}`;
      plan.push({
        name: `layer${l}.expert${e}`,
        type: 'expert',
        tensors: [
          { name: `${x}.w1`, shape: [c.dFF, d] },
          { name: `${x}.w2`, shape: [d, c.dFF] },
          { name: `${x}.w3`, shape: [c.dFF, d] },
        ],
      });
    }
  }
  return plan;
}
