import type { AccountsClient, RoundUnit } from '@blyan/client';
import type { Tokenizer } from '@blyan/model';
import { evalStream } from '@blyan/model/eval';

/** What a trainer's micro-steps draw their inputs and next-token targets from. */
export interface Batches {
  /** Inputs and targets ([B, T], row-major) of micro-step `step`. */
  at(step: number): { inputs: number[]; targets: number[] };
}

/**
 * Training batches from a shard's token stream: B windows of T + 1 tokens per micro-step (inputs
 * and the next-token targets), their starts spread over the stream by a fixed stride so successive
 * micro-steps see different text.
 */
export class ShardBatches implements Batches {
  constructor(
    private readonly stream: Int32Array,
    readonly batch: number,
    readonly seqLen: number,
  ) {
    if (stream.length < seqLen + 2) throw new Error(`the shard has ${stream.length} tokens, too few for sequences of ${seqLen}`);
  }

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

/** Replay micro-steps among the first `n` at replay `fraction`: ⌊n · fraction⌋ (with slack for binary rounding, so 100 × 0.29 counts 29). */
export const replaySteps = (n: number, fraction: number): number => Math.floor(n * fraction + 1e-9);

/**
 * A work unit's micro-batches with replay (rehearsal): whole micro-steps of the unit's own shard
 * interleaved with micro-steps of a replay shard (the genesis train split's, on a round on a new
 * dataset, so training for the new domain keeps rehearsing the old one). Micro-step `step` is a
 * replay step when it raises ⌊(step + 1) · fraction⌋, so any first n micro-steps hold exactly
 * ⌊n · fraction⌋ replay steps, spread evenly (fraction 0.25: steps 3, 7, 11, …). Each source is
 * read in its own order, as if the other were not there.
 */
export class ReplayBatches implements Batches {
  constructor(
    private readonly own: Batches,
    private readonly replay: Batches,
    readonly fraction: number,
  ) {
    if (!(fraction > 0 && fraction < 1)) throw new Error(`a replay fraction is above 0 and below 1, not ${fraction}`);
  }

  at(step: number): { inputs: number[]; targets: number[] } {
    const before = replaySteps(step, this.fraction);
    return replaySteps(step + 1, this.fraction) > before ? this.replay.at(before) : this.own.at(step - before);
  }
}

/** A unit's batches: its own shard's stream, with the replay shard's interleaved when the unit carries one. */
export function unitBatches(own: Int32Array, replay: { stream: Int32Array; fraction: number } | null, batch: number, seqLen: number): Batches {
  const mine = new ShardBatches(own, batch, seqLen);
  return replay === null ? mine : new ReplayBatches(mine, new ShardBatches(replay.stream, batch, seqLen), replay.fraction);
}

/**
 * A work unit's batches from the relay: its shard and, when it carries one, its replay shard,
 * fetched (and checked against the SHA-256 the unit names) by `accounts`, tokenized as
 * `<|endoftext|>`-separated streams, then interleaved by unitBatches.
 */
export async function fetchUnitBatches(accounts: Pick<AccountsClient, 'shard'>, tokenizer: Tokenizer, u: Pick<RoundUnit, 'shard' | 'replay'>, batch: number, seqLen: number): Promise<Batches> {
  const stream = async (a: Pick<RoundUnit, 'shard'>) => evalStream(tokenizer, (await accounts.shard(a)).docs.map((d) => d.text));
  const { replay } = u;
  const [own, rehearsal] = await Promise.all([stream(u), replay && stream(replay).then((s) => ({ stream: s, fraction: replay.fraction }))]);
  return unitBatches(own, rehearsal, batch, seqLen);
}
