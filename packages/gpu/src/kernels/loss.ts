import { type KernelSpec, kernelSpec, read, readWrite } from '../kernel.ts';
import { REDUCE_WGSL, STEP, f32Literal } from '../wgsl.ts';
import { statsStride } from './route.ts';

/**
 * Softmax cross-entropy per row of logits [n, V], one workgroup per row: losses[t] = log Σ exp −
 * (logit[target] − max), and the logits are overwritten with the gradient of the mean loss,
 * (softmax − onehot(target)) / n.
 */
export function crossEntropyKernel(vocab: number): KernelSpec {
  return kernelSpec(
    `cross-entropy V${vocab}`,
    [STEP, read('targets', 'array<u32>'), readWrite('logits'), readWrite('losses')],
    /* wgsl */ `
${REDUCE_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.n) { return; }
  let o = t * ${vocab}u;
  let goal = targets[t];
  let picked = logits[o + goal];
  var mx = -3.0e38;
  for (var v = lid; v < ${vocab}u; v += 64u) { mx = max(mx, logits[o + v]); }
  mx = reduce_max(lid, mx);
  var sum = 0.0;
  for (var v = lid; v < ${vocab}u; v += 64u) { sum += exp(logits[o + v] - mx); }
  sum = reduce_sum(lid, sum);
  let inv = 1.0 / f32(step.n);
  for (var v = lid; v < ${vocab}u; v += 64u) {
    logits[o + v] = (exp(logits[o + v] - mx) / sum - select(0.0, 1.0, v == goal)) * inv;
  }
  if (lid == 0u) { losses[t] = log(sum) - (picked - mx); }
}`,
  );
}

/**
 * The training objective from the per-row losses and each layer's aux: result = [mean
 * cross-entropy, mean aux over layers, ce + coef · aux]. One thread; sums in row order.
 */
export function lossKernel(layers: number, experts: number, auxLossCoef: number): KernelSpec {
  return kernelSpec(
    `loss L${layers} E${experts}`,
    [STEP, read('losses'), read('stats'), readWrite('result')],
    /* wgsl */ `
@compute @workgroup_size(1)
fn main() {
  var ce = 0.0;
  for (var t = 0u; t < step.n; t++) { ce += losses[t]; }
  ce /= f32(step.n);
  var aux = 0.0;
  for (var l = 0u; l < ${layers}u; l++) { aux += stats[l * ${statsStride(experts)}u + ${2 * experts}u]; }
  aux /= ${layers}.0;
  result[0] = ce;
  result[1] = aux;
  result[2] = ce + ${f32Literal(auxLossCoef)} * aux;
}`,
  );
}
