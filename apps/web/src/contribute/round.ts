import type { Address, Hash, Signer } from '@blyan/block';
import type { AccountsClient, RelayClient, RoundInfo, RoundUnit } from '@blyan/client';
import { fetchUnitBatches } from './batches.ts';
import { sparseDelta } from './candidate.ts';
import { cpuTrainer } from './cpu-trainer.ts';
import type { ExpertTrainer } from './expert-trainer.ts';
import { FrozenModel } from './frozen-model.ts';
import type { TrainingGate } from './gate.ts';
import { gpuTrainer } from './gpu-trainer.ts';
import type { ContributeSettings, FromContributor, UnitView } from './protocol.ts';

export interface RoundContext {
  relay: RelayClient;
  /** The genesis meta block this build trusts: the model trained on must descend from it. */
  pin: Hash;
  /** The signed genesis headers shipped beside the pin (see Lineage). */
  genesisHeaders?: readonly unknown[];
  accounts: AccountsClient;
  /** null: train on the CPU reference. */
  device: GPUDevice | null;
  signer: Signer;
  account: Address;
  settings: ContributeSettings;
  gate: TrainingGate;
  post(m: FromContributor): void;
  /** The model of the last work unit, reused while the meta block is the same. */
  model: FrozenModel | null;
}

const POLL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The round as the page shows it, with this account's delta in it. */
function withInfo(view: UnitView, info: RoundInfo, account: Address): UnitView {
  const own = info.deltas.find((d) => d.account === account);
  return {
    ...view,
    state: info.status === 'accepted' || info.status === 'rejected' ? info.status : 'waiting',
    own: own === undefined ? null : { status: own.status, improvement: own.improvement, credit: own.credit },
    info: {
      status: info.status,
      reason: info.reason,
      block: info.block,
      improvement: info.improvement,
      lower: info.lower,
      credit: info.credit,
      genesis: info.genesis,
      contributors: info.contributors,
      closes_at: info.closes_at,
      deltas: info.deltas.length,
    },
  };
}

/**
 * One work unit of a round: ask the relay for a unit (on the chosen dataset, or the model's own
 * train split), fetch its shard and the frozen model, run the unit's H micro-steps as the gate
 * allows, send the delta, and follow the round until its verdict. Returns false when contributing
 * was switched off mid-unit (nothing is sent then). A rejected round, or one that closed before
 * the delta arrived, ends the unit like any other: the caller asks for the next.
 */
export async function contributeRound(ctx: RoundContext, n: number): Promise<boolean> {
  const { accounts, settings: s, post } = ctx;
  post({ type: 'status', text: s.dataset ? `asking the relay for a work unit on dataset ${s.dataset}` : 'asking the relay for a work unit' });
  const u: RoundUnit = await accounts.roundUnit(s.dataset || undefined);
  let view: UnitView = { round: u.round, slot: u.slot, dataset: u.dataset, base: u.base, steps: u.steps, shard: { index: u.shard.index, of: u.shard.of }, state: 'training', size: null, own: null, info: null, note: null };
  const show = (next: UnitView) => post({ type: 'unit', unit: (view = next), rules: u.rules });
  show(view);
  const reused = ctx.model?.meta === u.meta;
  const model = reused ? ctx.model! : await FrozenModel.open(ctx.relay, u.meta, ctx.pin, ctx.genesisHeaders);
  ctx.model = model;
  if (reused) await model.refresh();
  const slot = model.plan(u.slot);
  if (slot.type !== 'expert') throw new Error(`the relay handed out ${u.slot}, which is not an expert slot`);
  const rehearse = u.replay === null ? '' : ` and train shard ${u.replay.shard.index + 1} of ${u.replay.shard.of} to rehearse (${Math.round(u.replay.fraction * 100)} % of micro-steps)`;
  post({ type: 'status', text: `fetching shard ${u.shard.index + 1} of ${u.shard.of}${u.dataset ? ` of ${u.dataset}` : ''}${rehearse}` });
  const seqLen = Math.min(s.seqLen, model.config.contextLength);
  const batches = await fetchUnitBatches(accounts, model.tokenizer, u, s.batch, seqLen);
  const base = await model.block(u.base, u.slot);
  const train = { batch: s.batch, seqLen, adamw: { lr: s.lr } };
  post({ type: 'status', text: `preparing to train ${u.slot}: setting up the trainer` });
  const trainer: ExpertTrainer = ctx.device ? await gpuTrainer(ctx.device, model, slot.layer, slot.expert, base, train) : await cpuTrainer(model, slot.layer, slot.expert, base, train);
  let change: Record<string, Float32Array>;
  try {
    for (let step = 0; step < u.steps; step++) {
      if (!(await ctx.gate.turn())) return false;
      const on = trainer.backend === 'webgpu' ? 'WebGPU' : 'the CPU reference';
      post({ type: 'status', text: step === 0 ? `preparing to train ${u.slot} on ${on}: the first micro-step of ${u.steps} also sets up the trainer, so it takes longest` : `training ${u.slot} on ${on}: micro-step ${step + 1} of ${u.steps}` });
      const { inputs, targets } = batches.at(n * u.steps + step);
      const t0 = performance.now();
      const loss = await trainer.microStep(inputs, targets);
      post({ type: 'step', round: u.round, step, loss, ms: performance.now() - t0, tokens: inputs.length });
    }
    change = await trainer.change();
  } finally {
    trainer.destroy();
  }

  const delta = sparseDelta(change, base, { slot, density: Math.min(s.density, u.rules.max_density), maxRelativeNorm: u.rules.max_relative_norm });
  show({ ...view, state: 'submitting', size: delta.size });
  for (;;) {
    post({ type: 'status', text: `sending the delta for ${u.slot} to round ${u.round}` });
    const sent = await accounts.roundDelta(u.round, delta.bytes);
    if (sent.kind === 'submitted') break;
    if (sent.kind === 'round_closed') {
      show({ ...view, state: 'unsent', note: sent.message });
      return true;
    }
    post({ type: 'status', text: `rate limited: waiting ${Math.round(sent.retryAfterMs / 1000)} s` });
    await sleep(sent.retryAfterMs);
    if (ctx.gate.paused === 'off') return false;
  }
  for (;;) {
    const next = withInfo(view, await accounts.round(u.round), ctx.account);
    if (JSON.stringify(next) !== JSON.stringify(view)) show(next);
    if (next.state === 'accepted' || next.state === 'rejected') return true;
    const left = Math.max(0, Math.round((next.info!.closes_at - Date.now()) / 60_000));
    post({ type: 'status', text: `round ${u.round}: ${next.info!.deltas} of ${next.info!.contributors} deltas in; it is judged when full, or in about ${left} min with what it has` });
    await sleep(POLL_MS);
  }
}
