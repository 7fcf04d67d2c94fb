import { type Tensor, type TensorMap, toF16 } from '@blyan/block';
import { storageBuffer, writeView } from './buffers.ts';
import { type ExpertLayout, expertLayout } from './layout.ts';
import { type ModelConfig, expertTensorNames, headDim, parameterShapes, ropeTable } from '@blyan/model';
import { ropeTableData } from './kernels/rope.ts';
import type { Storage } from './wgsl.ts';

/** One layer's weights on the GPU. Experts live in an int8 pool of `slots` experts. */
export interface LayerBuffers {
  readonly attnNorm: GPUBuffer;
  readonly wq: GPUBuffer;
  readonly wk: GPUBuffer;
  readonly wv: GPUBuffer;
  readonly wo: GPUBuffer;
  readonly ffnNorm: GPUBuffer;
  readonly router: GPUBuffer;
  /** Int8 expert weights, 4 per u32, slot s at byte s · ExpertLayout.elements. */
  readonly pool: GPUBuffer;
  readonly scales: GPUBuffer;
  /** i32 [2E]: each expert's pool slot (−1 = not loaded), then its allowed flag for static routing. */
  readonly table: GPUBuffer;
}

export interface ExpertTensors {
  readonly w1: Tensor;
  readonly w3: Tensor;
  readonly w2: Tensor;
}

const DENSE_ROLES = ['attn_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'router'] as const;
const ROLE_KEYS = { attn_norm: 'attnNorm', wq: 'wq', wk: 'wk', wv: 'wv', wo: 'wo', ffn_norm: 'ffnNorm', router: 'router' } as const;

/**
 * The dense matrices stored as `matrices` storage: the embedding (gather and tied logits) and the
 * attention projections. Norm weights and the router stay f32 in every precision: they are tiny,
 * and the router's top-k is a discrete choice that f16 rounding could flip.
 */
const MATRIX = /^(embed|layers\.\d+\.(wq|wk|wv|wo))$/;

/**
 * The model's parameters on the GPU, allocated once for a config. Dense tensors (f32) are
 * uploaded straight from their tensors-v1 views; experts (int8, one scale per output row) go
 * into per-layer pools without ever being widened to f32. With `matrices` 'f16' the embedding and
 * attention projections are stored as f16: f16 tensors are uploaded from their views, f32 ones
 * rounded on the CPU once at load.
 */
export class ModelWeights {
  readonly embed: GPUBuffer;
  readonly finalNorm: GPUBuffer;
  /** (cos, sin) per [position, pair] for rotary embeddings. */
  readonly rope: GPUBuffer;
  readonly layers: readonly LayerBuffers[];
  readonly expert: ExpertLayout;
  private readonly shapes: ReadonlyMap<string, readonly number[]>;
  private readonly loaded = new Set<string>();
  /** slotOf[layer][expert]: pool slot, or −1. */
  private readonly slotOf: Int32Array[];

  constructor(
    private readonly device: GPUDevice,
    private readonly cfg: ModelConfig,
    readonly slots: number,
    readonly matrices: Storage,
  ) {
    const { dModel: d, nExperts: E } = cfg;
    this.expert = expertLayout(d, cfg.dFF);
    this.shapes = new Map(parameterShapes(cfg).map((s) => [s.name, s.shape]));
    const f32 = (label: string, n: number): GPUBuffer => storageBuffer(device, label, n * 4);
    const matrix = (label: string, n: number): GPUBuffer => storageBuffer(device, label, n * (matrices === 'f16' ? 2 : 4));
    this.embed = matrix('embed', cfg.vocabSize * d);
    this.finalNorm = f32('final_norm', d);
    const rope = ropeTableData(ropeTable(cfg.contextLength, headDim(cfg), cfg.ropeTheta));
    this.rope = f32('rope', rope.length);
    writeView(device.queue, this.rope, 0, rope);
    this.slotOf = Array.from({ length: cfg.nLayers }, () => new Int32Array(E).fill(-1));
    this.layers = Array.from({ length: cfg.nLayers }, (_, l) => {
      const table = storageBuffer(device, `layers.${l}.table`, 8 * E);
      writeView(device.queue, table, 0, Int32Array.from({ length: 2 * E }, (_, i) => (i < E ? -1 : 1)));
      return {
        attnNorm: f32(`layers.${l}.attn_norm`, d),
        wq: matrix(`layers.${l}.wq`, d * d),
        wk: matrix(`layers.${l}.wk`, d * d),
        wv: matrix(`layers.${l}.wv`, d * d),
        wo: matrix(`layers.${l}.wo`, d * d),
        ffnNorm: f32(`layers.${l}.ffn_norm`, d),
        router: f32(`layers.${l}.router`, E * d),
        pool: storageBuffer(device, `layers.${l}.experts`, slots * this.expert.elements),
        scales: f32(`layers.${l}.expert_scales`, slots * this.expert.scales),
        table,
      };
    });
  }

  /**
   * Uploads the tensors of `tensors` (decoded tensors-v1 views: names as parameterShapes, dense
   * ones f32, or f16 for the f16-stored matrices, experts i8). Experts whose three tensors are all
   * present are added to the pools.
   */
  load(tensors: TensorMap): void {
    for (const [name, t] of Object.entries(tensors)) {
      if (name.includes('.experts.')) continue;
      const buffer = this.denseBuffer(name);
      const f16 = this.matrices === 'f16' && MATRIX.test(name);
      this.check(name, t, f16 && t.dtype === 'f16' ? 'f16' : 'f32');
      writeView(this.device.queue, buffer, 0, f16 && t.dtype === 'f32' ? toF16(t.data, t.shape).data : t.data);
      this.loaded.add(name);
    }
    for (let l = 0; l < this.cfg.nLayers; l++) {
      for (let e = 0; e < this.cfg.nExperts; e++) {
        const names = expertTensorNames(l, e);
        const [w1, w3, w2] = [tensors[names.w1], tensors[names.w3], tensors[names.w2]];
        if (!w1 && !w3 && !w2) continue;
        if (!w1 || !w3 || !w2) throw new Error(`expert layers.${l}.experts.${e} is incomplete: it needs ${names.w1}, ${names.w3} and ${names.w2}`);
        this.addExpert(l, e, { w1, w3, w2 });
      }
    }
    for (const name of Object.keys(tensors)) if (!this.shapes.has(name)) throw new Error(`unexpected tensor "${name}" for this model config`);
  }

  /** Throws naming the first dense tensor not loaded yet. */
  checkComplete(): void {
    for (const name of this.shapes.keys()) {
      if (!name.includes('.experts.') && !this.loaded.has(name)) throw new Error(`tensor "${name}" is not loaded`);
    }
  }

  hasExpert(layer: number, expert: number): boolean {
    return this.slotsOf(layer)[this.checkExpert(layer, expert)]! >= 0;
  }

  /** Writes an int8 expert into a free slot of its layer's pool (replacing it if present). */
  addExpert(layer: number, expert: number, t: ExpertTensors): void {
    const slots = this.slotsOf(layer);
    this.checkExpert(layer, expert);
    const names = expertTensorNames(layer, expert);
    for (const role of ['w1', 'w3', 'w2'] as const) this.check(names[role], t[role], 'i8');
    let slot = slots[expert]!;
    if (slot < 0) {
      const used = new Set(slots);
      slot = Array.from({ length: this.slots }, (_, s) => s).find((s) => !used.has(s)) ?? -1;
      if (slot < 0) throw new Error(`layer ${layer} has no free expert slot (${this.slots} in use); evict an expert first`);
    }
    const x = this.expert;
    const { pool, scales } = this.layers[layer]!;
    for (const [role, at, sAt] of [['w1', x.w1, x.s1], ['w3', x.w3, x.s3], ['w2', x.w2, x.s2]] as const) {
      const tensor = t[role] as Tensor & { dtype: 'i8' };
      writeView(this.device.queue, pool, slot * x.elements + at, tensor.data);
      writeView(this.device.queue, scales, (slot * x.scales + sAt) * 4, tensor.scales);
    }
    slots[expert] = slot;
    this.writeSlot(layer, expert, slot);
  }

  /** Frees the expert's slot; a token later routed to it raises MissingExpertError. */
  evictExpert(layer: number, expert: number): void {
    const slots = this.slotsOf(layer);
    this.checkExpert(layer, expert);
    slots[expert] = -1;
    this.writeSlot(layer, expert, -1);
  }

  /** Sets a layer's allowed flags (static routing); null allows every expert. */
  setAllowed(layer: number, allowed: readonly number[] | null): void {
    const flags = Int32Array.from({ length: this.cfg.nExperts }, (_, e) => (allowed === null || allowed.includes(e) ? 1 : 0));
    this.device.queue.writeBuffer(this.layers[layer]!.table, 4 * this.cfg.nExperts, flags);
  }

  destroy(): void {
    for (const b of [this.embed, this.finalNorm, this.rope]) b.destroy();
    for (const l of this.layers) for (const b of Object.values(l)) b.destroy();
  }

  private writeSlot(layer: number, expert: number, slot: number): void {
    this.device.queue.writeBuffer(this.layers[layer]!.table, 4 * expert, new Int32Array([slot]));
  }

  private slotsOf(layer: number): Int32Array {
    const slots = this.slotOf[layer];
    if (!slots) throw new Error(`layer ${layer} is not in [0, ${this.cfg.nLayers})`);
    return slots;
  }

  private checkExpert(layer: number, expert: number): number {
    if (!Number.isInteger(expert) || expert < 0 || expert >= this.cfg.nExperts) throw new Error(`layer ${layer}: expert ${expert} is not in [0, ${this.cfg.nExperts})`);
    return expert;
  }

  private denseBuffer(name: string): GPUBuffer {
    if (name === 'embed') return this.embed;
    if (name === 'final_norm') return this.finalNorm;
    const match = /^layers\.(\d+)\.(\w+)$/.exec(name);
    const layer = match ? this.layers[Number(match[1])] : undefined;
    const role = match?.[2] as (typeof DENSE_ROLES)[number] | undefined;
    if (!layer || !role || !DENSE_ROLES.includes(role)) throw new Error(`unexpected tensor "${name}" for this model config`);
    return layer[ROLE_KEYS[role]];
  }

  private check(name: string, t: Tensor, dtype: Tensor['dtype']): void {
    const shape = this.shapes.get(name);
    if (!shape) throw new Error(`unexpected tensor "${name}" for this model config`);
    if (t.dtype !== dtype) {
      const hint = dtype === 'i8' ? ' (quantize experts with quantizeInt8)' : t.dtype === 'f16' && MATRIX.test(name) ? ' (f16 matrices need an engine with precision f16)' : '';
      throw new Error(`tensor "${name}" is ${t.dtype}; the engine takes ${dtype}${hint}`);
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new Error(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
}

/**
 * Bytes of the weights one decode token reads at `matrices` storage: its embedding row, the tied
 * logits matrix, per layer the attention projections, norms, router and topK int8 experts with
 * their scales, and the final norm: the floor for a token's bytes read (the KV cache aside).
 */
export function activeWeightBytes(cfg: ModelConfig, matrices: Storage): number {
  const { vocabSize: V, dModel: d, dFF: F, nExperts: E, topK: K, nLayers: L } = cfg;
  const dense = matrices === 'f16' ? 2 : 4;
  const x = expertLayout(d, F);
  return (V + 1) * d * dense + L * (4 * d * d * dense + 4 * (E * d + 2 * d) + K * (x.elements + 4 * x.scales)) + 4 * d;
}
