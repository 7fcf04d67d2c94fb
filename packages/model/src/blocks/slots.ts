import type { ParamType } from '@blyan/block';
import type { ModelConfig } from '../reference/config.ts';
import { type ParamSpec, expertTensorNames, parameterShapes } from '../reference/params.ts';

/** One parameter block of the model: its slot name, block type and the parameters it holds. */
export type SlotPlan =
  | { readonly name: string; readonly type: 'dense' | 'router'; readonly tensors: readonly ParamSpec[] }
  | { readonly name: string; readonly type: 'expert'; readonly layer: number; readonly expert: number; readonly tensors: readonly ParamSpec[] };

export const expertSlotName = (layer: number, expert: number): string => `layer${layer}.expert${expert}`;

const EXPERT_SLOT_RE = /^layer(\d+)\.expert(\d+)$/;

/** `{ layer, expert }` of an expert slot name, or null for any other name. */
export function parseExpertSlot(name: string): { layer: number; expert: number } | null {
  const m = EXPERT_SLOT_RE.exec(name);
  return m ? { layer: Number(m[1]), expert: Number(m[2]) } : null;
}

/**
 * How a model is cut into blocks: `embed` (the tied embedding and the final norm), then per layer
 * `layer{l}.attn` (both norms and the attention projections), `layer{l}.router`, and one
 * `layer{l}.expert{e}` per expert (SwiGLU w1, w3, w2). Every parameter lies in exactly one slot.
 */
export function slotPlan(cfg: ModelConfig): SlotPlan[] {
  const shapes = new Map(parameterShapes(cfg).map((s) => [s.name, s]));
  const pick = (...names: string[]): ParamSpec[] => names.map((n) => shapes.get(n)!);
  const plan: SlotPlan[] = [{ name: 'embed', type: 'dense', tensors: pick('embed', 'final_norm') }];
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `layers.${l}`;
    plan.push({ name: `layer${l}.attn`, type: 'dense', tensors: pick(`${p}.attn_norm`, `${p}.wq`, `${p}.wk`, `${p}.wv`, `${p}.wo`, `${p}.ffn_norm`) });
    plan.push({ name: `layer${l}.router`, type: 'router', tensors: pick(`${p}.router`) });
    for (let e = 0; e < cfg.nExperts; e++) {
      const n = expertTensorNames(l, e);
      plan.push({ name: expertSlotName(l, e), type: 'expert', layer: l, expert: e, tensors: pick(n.w1, n.w3, n.w2) });
    }
  }
  return plan;
}

export const slotDecls = (cfg: ModelConfig): { name: string; type: ParamType }[] => slotPlan(cfg).map(({ name, type }) => ({ name, type }));
