import type { Doc } from '../data/corpus.ts';
import { bitsPerByte, tokenByteLengths } from '../eval/bpb.ts';
import { scoreWindows } from '../eval/score.ts';
import { type Window, evalStream, spreadWindows } from '../eval/windows.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { LossBackend } from './backend.ts';

export interface ValResult {
  /** Mean cross-entropy per target token, nats. */
  readonly loss: number;
  readonly bpb: number;
}

/** The fixed validation windows a run logs its val loss on: `count` windows spread over the val split. */
export class Validation {
  private readonly stream: Int32Array;
  private readonly length: number;
  private readonly windows: Window[];
  private readonly bytes: number;

  constructor(tokenizer: Tokenizer, val: readonly Doc[], T: number, count: number) {
    this.stream = evalStream(
      tokenizer,
      val.map((d) => d.text),
    );
    ({ length: this.length, windows: this.windows } = spreadWindows(this.stream.length, T, count));
    const byteLengths = tokenByteLengths(tokenizer);
    let bytes = 0;
    for (const { start } of this.windows) for (let t = start + 1; t <= start + this.length; t++) bytes += byteLengths[this.stream[t]!]!;
    this.bytes = bytes;
  }

  async run(backend: LossBackend, perBatch: number): Promise<ValResult> {
    const { nats, tokens } = await scoreWindows((batch) => backend.tokenLosses(batch), this.stream, this.windows, this.length, perBatch);
    return { loss: nats / tokens, bpb: bitsPerByte(nats, this.bytes) };
  }
}
