/**
 * Training batches from a shard's token stream: B windows of T + 1 tokens per micro-step (inputs
 * and the next-token targets), their starts spread over the stream by a fixed stride so successive
 * micro-steps see different text.
 */
export class ShardBatches {
  constructor(
    private readonly stream: Int32Array,
    readonly batch: number,
    readonly seqLen: number,
  ) {
    if (stream.length < seqLen + 2) throw new Error(`the shard has ${stream.length} tokens, too few for sequences of ${seqLen}`);
  }

  /** Inputs and targets ([B, T], row-major) of micro-step `step`. */
  at(step: number): { inputs: number[]; targets: number[] } {
    const { batch: B, seqLen: T, stream } = this;
    const inputs: number[] = [];
    const targets: number[] = [];
    for (let b = 0; b < B; b++) {
      const start = ((step * B + b) * 104_729) % (stream.length - T - 1);
      for (let t = 0; t < T; t++) {
        inputs.push(stream[start + t]!);
        targets.push(stream[start + t + 1]!);
      }
    }
    return { inputs, targets };
  }
}
