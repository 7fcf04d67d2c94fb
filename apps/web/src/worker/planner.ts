import { type ModelConfig, type Routing, budgetRouting } from '@blyan/model';
import { type MetaPayload, expertSlotName } from '@blyan/model/blocks';
import type { FetchReason, PlannedFetch, RoutingMode } from '../protocol.ts';
import type { ExpertRef } from './expert-plan.ts';

/** The share of each layer's prompt router mass whose experts are prefetched while the answer runs. */
export const PREDICTED_MASS = 0.9;

/**
 * The routing a mode asks for: `static` is the model's default budget (staticExpertsPerLayer, which
 * a model with sequence budgets sets to routing.budgets.default), `low-bandwidth` its low-bandwidth
 * budget (topK experts per layer for a model without budgets), both chosen from the prompt.
 */
export function modeRouting(mode: RoutingMode, routing: MetaPayload['routing'], cfg: ModelConfig): Routing {
  if (mode === 'dynamic') return { mode: 'dynamic' };
  const m = mode === 'static' ? routing.staticExpertsPerLayer : (routing.budgets?.lowBandwidth ?? cfg.topK);
  return budgetRouting(m, cfg);
}

/**
 * Per layer, the experts holding the first `share` of the prompt's router mass (`mass[layer][e]`,
 * the prompt tokens' mean router probability), heaviest first, ties to the lower index, leaving
 * out those `have` says are there: what the answer is likely to route to.
 */
export function predictExperts(mass: readonly (readonly number[])[], share: number, have: (ref: ExpertRef) => boolean): ExpertRef[] {
  const out: ExpertRef[] = [];
  for (const [layer, row] of mass.entries()) {
    const total = row.reduce((a, b) => a + b, 0);
    const order = row.map((_, e) => e).sort((a, b) => row[b]! - row[a]! || a - b);
    let covered = 0;
    for (const expert of order) {
      if (covered >= share * total) break;
      covered += row[expert]!;
      if (!have({ layer, expert })) out.push({ layer, expert });
    }
  }
  return out;
}

/**
 * Fetches an answer's experts and remembers why: the prompt's set first (`prompt`, awaited), the
 * predicted ones in the background (`prefetch`), and what a token needs (`demand`): an expert
 * whose prefetch is in flight is awaited, any other is fetched `on-demand`. `load` fetches one
 * expert (cache or relay) into the model and says where it came from.
 */
export class DownloadPlanner {
  readonly fetches: PlannedFetch[] = [];
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Per layer, the prompt's mean router probabilities, once known (the mass column of the log). */
  private mass: readonly (readonly number[])[] = [];

  constructor(
    private readonly load: (ref: ExpertRef) => Promise<'network' | 'cache'>,
    private readonly changed: (fetches: PlannedFetch[]) => void,
  ) {}

  /** The prompt's router mass per layer, known once the prompt set is loaded. */
  setMass(mass: readonly (readonly number[])[]): void {
    this.mass = mass;
    for (const f of this.fetches) f.mass = mass[f.layer]?.[f.expert] ?? 0;
    if (this.fetches.length > 0) this.changed(this.fetches);
  }

  /** The prompt's experts, all together; resolves once every one is loaded. */
  prompt(refs: readonly ExpertRef[]): Promise<void> {
    return this.fetchAll(refs, 'prompt');
  }

  /** Starts fetching the predicted experts, heaviest first per layer, without waiting for them. */
  prefetch(refs: readonly ExpertRef[]): void {
    void this.fetchAll(refs, 'predicted').catch(() => undefined);
  }

  /** What a generated token needs now: awaits a predicted fetch in flight, else fetches on demand. */
  demand(refs: readonly ExpertRef[]): Promise<void> {
    return this.fetchAll(refs, 'on-demand');
  }

  /** Resolves once every fetch started so far has ended (a failed prefetch is fetched again on demand). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private fetchAll(refs: readonly ExpertRef[], reason: FetchReason): Promise<void> {
    return Promise.all(refs.map((ref) => this.fetchOne(ref, reason))).then(() => undefined);
  }

  private fetchOne(ref: ExpertRef, reason: FetchReason): Promise<void> {
    const slot = expertSlotName(ref.layer, ref.expert);
    const running = this.inFlight.get(slot);
    if (running) return running;
    const task = this.load(ref).then(
      (source) => {
        this.fetches.push({ slot, ...ref, reason, source, mass: this.mass[ref.layer]?.[ref.expert] ?? 0 });
        this.changed(this.fetches);
      },
      (e: unknown) => {
        this.inFlight.delete(slot);
        throw e;
      },
    );
    this.inFlight.set(slot, task);
    return task;
  }
}
