import { type KernelSpec, kernelSpec, read, readWrite } from '../kernel.ts';
import { STEP } from '../wgsl.ts';

const THREADS = 256;

/** Scratch floats sampleKernel needs: sorted values, their token ids, their probabilities. */
export const sampleScratch = (vocab: number): number => 3 * nextPow2(vocab);

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));

/**
 * Picks the next token from logits [V] in one 256-thread workgroup, as the reference's
 * sampleToken does, so a token costs one 4-byte readback:
 * - temperature 0: argmax, ties to the lower id;
 * - otherwise: bitonic sort by logit (descending, ties to the lower id) in `scratch`, keep the
 *   topK best (all when 0), p_i = exp((l_i − max) / temperature), keep the smallest prefix whose
 *   probability reaches topP, and return the first token whose cumulative p exceeds
 *   draw · Σ kept p (draw is the step's uniform variate, from the engine's seeded Rng).
 * Sums run chunk by chunk (256 chunks in order), so a draw within ~1e-6 of a boundary may land
 * on the neighbouring token compared with the float64 reference.
 * The token goes to result[0] and to tokens[0], the next decode step's input. `perRow`: one
 * workgroup per row r of logits [rows, V] (dispatch [rows, 1, 1]), drawing with draws[r], its
 * scratch at r · sampleScratch(V), its token to result[r] and tokens[r] (batched decoding).
 */
export function sampleKernel(vocab: number, perRow = false): KernelSpec {
  const NP = nextPow2(vocab);
  return kernelSpec(
    `sample V${vocab}${perRow ? ' per row' : ''}`,
    [STEP, read('logits'), readWrite('scratch'), readWrite('result', 'array<u32>'), readWrite('tokens', 'array<u32>'), perRow && read('draws')],
    /* wgsl */ `
const V = ${vocab}u;
const NP = ${NP}u;
var<workgroup> part: array<f32, ${THREADS}>;
var<workgroup> bestIndex: array<u32, ${THREADS}>;
/** The workgroup's row: its logits, scratch, result and token. */
var<private> row: u32;
var<private> lb: u32;
var<private> sb: u32;

fn value(i: u32) -> f32 { return scratch[sb + i]; }
fn id(i: u32) -> u32 { return bitcast<u32>(scratch[sb + NP + i]); }
fn prob(i: u32) -> f32 { return scratch[sb + 2u * NP + i]; }
fn before(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  return ia < V && (ib >= V || va > vb || (va == vb && ia < ib));
}
fn finish(token: u32) {
  result[row] = token;
  tokens[row] = token;
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  row = wid.x;
  lb = row * V;
  sb = row * 3u * NP;
  if (step.temperature == 0.0) {
    var bi = V;
    for (var v = lid; v < V; v += ${THREADS}u) {
      if (bi == V || logits[lb + v] > part[lid]) { bi = v; part[lid] = logits[lb + v]; }
    }
    bestIndex[lid] = bi;
    workgroupBarrier();
    for (var s = ${THREADS / 2}u; s > 0u; s >>= 1u) {
      if (lid < s) {
        let o = bestIndex[lid + s];
        let me = bestIndex[lid];
        if (o < V && (me == V || part[lid + s] > part[lid] || (part[lid + s] == part[lid] && o < me))) {
          bestIndex[lid] = o;
          part[lid] = part[lid + s];
        }
      }
      workgroupBarrier();
    }
    if (lid == 0u) { finish(bestIndex[0]); }
    return;
  }
  for (var i = lid; i < NP; i += ${THREADS}u) {
    scratch[sb + i] = select(0.0, logits[lb + min(i, V - 1u)], i < V);
    scratch[sb + NP + i] = bitcast<f32>(i);
  }
  storageBarrier();
  for (var k = 2u; k <= NP; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var i = lid; i < NP; i += ${THREADS}u) {
        let l = i ^ j;
        if (l > i) {
          let vi = value(i);
          let ii = id(i);
          let vl = value(l);
          let il = id(l);
          let swap = select(before(vi, ii, vl, il), before(vl, il, vi, ii), (i & k) == 0u);
          if (swap) {
            scratch[sb + i] = vl;
            scratch[sb + NP + i] = bitcast<f32>(il);
            scratch[sb + l] = vi;
            scratch[sb + NP + l] = bitcast<f32>(ii);
          }
        }
      }
      storageBarrier();
    }
  }
  let keep = select(V, min(step.topK, V), step.topK > 0u);
  let mx = value(0u);
  for (var i = lid; i < keep; i += ${THREADS}u) { scratch[sb + 2u * NP + i] = exp((value(i) - mx) / step.temperature); }
  storageBarrier();
  let chunk = (keep + ${THREADS - 1}u) / ${THREADS}u;
  var own = 0.0;
  for (var i = lid * chunk; i < min(keep, (lid + 1u) * chunk); i++) { own += prob(i); }
  part[lid] = own;
  workgroupBarrier();
  if (lid != 0u) { return; }
  var total = 0.0;
  for (var c = 0u; c < ${THREADS}u; c++) { total += part[c]; }
  var kept = keep;
  if (step.topP < 1.0) {
    var cumulative = 0.0;
    for (var c = 0u; c < ${THREADS}u && kept == keep; c++) {
      if (cumulative + part[c] / total < step.topP) {
        cumulative += part[c] / total;
        continue;
      }
      for (var i = c * chunk; i < min(keep, (c + 1u) * chunk); i++) {
        cumulative += prob(i) / total;
        if (cumulative >= step.topP) {
          kept = i + 1u;
          break;
        }
      }
    }
  }
  let last = (kept - 1u) / chunk;
  var mass = 0.0;
  for (var c = 0u; c < last; c++) { mass += part[c]; }
  for (var i = last * chunk; i < kept; i++) { mass += prob(i); }
  let u = ${perRow ? 'draws[row]' : 'step.draw'} * mass;
  var cumulative = 0.0;
  for (var c = 0u; c <= last; c++) {
    if (c < last && cumulative + part[c] <= u) {
      cumulative += part[c];
      continue;
    }
    for (var i = c * chunk; i < min(kept, (c + 1u) * chunk); i++) {
      cumulative += prob(i);
      if (u < cumulative) {
        finish(id(i));
        return;
      }
    }
  }
  finish(id(kept - 1u));
}`,
  );
}
