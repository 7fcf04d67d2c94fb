import type { FloatArray } from '../arrays.ts';

/**
 * Causal multi-head attention for one sequence. Rows are [nHeads · headDim]; head h owns columns
 * [h · headDim, (h+1) · headDim). The nQ query rows sit at positions start … start+nQ−1; `k` and
 * `v` hold the rows of positions 0 … start+nQ−1 (in inference, the KV cache). Query i attends to
 * keys 0 … start+i with softmax(q·k / sqrt(headDim)), computed in float64.
 *
 * `att`, when given, receives the probabilities as [nHeads, nQ, start+nQ] (zero above the
 * diagonal) for the backward pass; inference passes null.
 */
export function attentionForward(
  out: FloatArray,
  att: FloatArray | null,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  nQ: number,
  start: number,
  nHeads: number,
  headDim: number,
): void {
  const d = nHeads * headDim;
  const nKV = start + nQ;
  const scale = 1 / Math.sqrt(headDim);
  const p = new Float64Array(nKV);
  const acc = new Float64Array(headDim);
  for (let h = 0; h < nHeads; h++) {
    const col = h * headDim;
    for (let i = 0; i < nQ; i++) {
      const qi = i * d + col;
      const last = start + i;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        const kj = j * d + col;
        let s = 0;
        for (let c = 0; c < headDim; c++) s += q[qi + c]! * k[kj + c]!;
        s *= scale;
        p[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        const e = Math.exp(p[j]! - max);
        p[j] = e;
        sum += e;
      }
      acc.fill(0);
      for (let j = 0; j <= last; j++) {
        const pj = p[j]! / sum;
        const vj = j * d + col;
        for (let c = 0; c < headDim; c++) acc[c]! += pj * v[vj + c]!;
        if (att) att[(h * nQ + i) * nKV + j] = pj;
      }
      for (let c = 0; c < headDim; c++) out[qi + c] = acc[c]!;
    }
  }
}

/**
 * Accumulates dq, dk, dv for attentionForward with start = 0 (training), T rows, given the stored
 * probabilities `att` [nHeads, T, T]. For query i with probabilities p and scores s = q·k · scale:
 *   dv_j += p_j · dout_i,  dp_j = dout_i · v_j,  ds_j = p_j (dp_j − Σ_k p_k dp_k),
 *   dq_i += scale · Σ_j ds_j k_j,  dk_j += scale · ds_j q_i.
 */
export function attentionBackward(
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  dout: FloatArray,
  att: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  T: number,
  nHeads: number,
  headDim: number,
): void {
  const d = nHeads * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const dp = new Float64Array(T);
  for (let h = 0; h < nHeads; h++) {
    const col = h * headDim;
    for (let i = 0; i < T; i++) {
      const qi = i * d + col;
      const row = (h * T + i) * T;
      let pdp = 0;
      for (let j = 0; j <= i; j++) {
        const vj = j * d + col;
        const pj = att[row + j]!;
        let s = 0;
        for (let c = 0; c < headDim; c++) {
          s += dout[qi + c]! * v[vj + c]!;
          dv[vj + c]! += pj * dout[qi + c]!;
        }
        dp[j] = s;
        pdp += pj * s;
      }
      for (let j = 0; j <= i; j++) {
        const ds = att[row + j]! * (dp[j]! - pdp) * scale;
        const kj = j * d + col;
        for (let c = 0; c < headDim; c++) {
          dq[qi + c]! += ds * k[kj + c]!;
          dk[kj + c]! += ds * q[qi + c]!;
        }
      }
    }
  }
}
