import { randomBytes } from 'node:crypto';
import type { Hash } from '@blyan/block';
import { AccountsClient, RelayClient } from '@blyan/client';
import { signVote } from '@blyan/data';
import { type ParamMap, Tokenizer } from '@blyan/model';
import { type SlotPlan, parseMetaPayload, slotParams, slotPlan } from '@blyan/model/blocks';
import { OnnxModel } from '@blyan/model/onnx';
import { ortTrainer } from '../../../relay/bench/swarm/ort-trainer.ts';
import { type LoggedIn, login, remote } from '../../../relay/test/accounts-helpers.ts';
import { fetchUnitBatches } from '../src/contribute/batches.ts';
import { sparseDelta } from '../src/contribute/candidate.ts';
import { DEFAULT_CONTRIBUTE } from '../src/contribute/protocol.ts';

/**
 * Other people of the network, in the test's own process, through the relay's public API as a
 * page would call it: each signs in (SIWE with a session key, for the app's origin `origin`),
 * and reviews uploads or works a round's unit.
 */
export async function people(relay: string, origin: string, n: number): Promise<LoggedIn[]> {
  const f = { domain: new URL(origin).host, uri: origin, issuedAt: Date.now() };
  return Promise.all(Array.from({ length: n }, () => login(remote(relay), f)));
}

/** `who`'s AccountsClient: the page's client, its session cookie sent as the browser would. */
const accountsOf = (relay: string, who: LoggedIn) =>
  new AccountsClient(relay, (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), cookie: who.cookie } }));

/** Votes keep on every sampled document the relay shows `who` for review, until nothing is left for them. */
export async function reviewAll(relay: string, who: LoggedIn): Promise<number> {
  for (let votes = 0; ; votes++) {
    const res = await fetch(`${relay}/v1/review`, { headers: { cookie: who.cookie } });
    if (res.status === 404) return votes;
    if (!res.ok) throw new Error(`GET /v1/review: ${res.status} ${await res.text()}`);
    const item = (await res.json()) as { upload: number; doc: Hash };
    const vote = await signVote({ v: 1, kind: 'blyan-dataset-vote', upload: item.upload, doc: item.doc, keep: true, voter: who.account, nonce: randomBytes(32).toString('hex') as Hash, at: Date.now() }, who.key);
    const sent = await fetch(`${relay}/v1/votes`, { method: 'POST', body: JSON.stringify(vote), headers: { 'content-type': 'application/json', cookie: who.cookie } });
    if (sent.status !== 201) throw new Error(`POST /v1/votes: ${sent.status} ${await sent.text()}`);
  }
}

/** The model of the relay's current heads, as the contribute worker's FrozenModel assembles it. */
async function currentModel(client: RelayClient): Promise<{ meta: Hash; plan: Map<string, SlotPlan>; tokenizer: Tokenizer; params: ParamMap; payloads: Map<string, Uint8Array<ArrayBuffer>>; model: OnnxModel }> {
  const index = await client.params();
  const bytes = async (hash: Hash) => new Uint8Array(await (await client.payload(hash)).arrayBuffer());
  const meta = parseMetaPayload(await bytes(index.meta));
  const plan = new Map(slotPlan(meta.config).map((s) => [s.name, s]));
  const payloads = new Map(await Promise.all(Object.entries(index.slots).map(async ([slot, hash]) => [slot, await bytes(hash)] as const)));
  const params: ParamMap = Object.assign({}, ...[...plan.values()].map((s) => slotParams(s, payloads.get(s.name)!)));
  return { meta: index.meta, plan, tokenizer: Tokenizer.fromJSON(meta.tokenizer), params, payloads, model: OnnxModel.create(meta.config, { intraOpThreads: 1 }) };
}

/**
 * Each of `workers` takes a work unit on `dataset` and works it as the contribute worker does at
 * DEFAULT_CONTRIBUTE (its shard's batches, with the unit's replay shard interleaved, H micro-steps of one expert with the rest frozen, the
 * int8 top-k delta under the relay's bounds, sent to the round), training on onnxruntime-node
 * (the CPU reference's maths in one fused graph) instead of WebGPU. Resolves to the rounds they
 * worked in.
 */
export async function workUnits(relay: string, workers: readonly LoggedIn[], dataset: string): Promise<number[]> {
  const client = new RelayClient(relay);
  const m = await currentModel(client);
  const s = DEFAULT_CONTRIBUTE;
  const rounds: number[] = [];
  try {
    for (const who of workers) {
      const accounts = accountsOf(relay, who);
      const u = await accounts.roundUnit(dataset);
      if (u.meta !== m.meta) throw new Error(`round ${u.round} is on meta block ${u.meta}, not ${m.meta}`);
      const slot = m.plan.get(u.slot)!;
      if (slot.type !== 'expert') throw new Error(`round ${u.round} is on ${u.slot}, not an expert`);
      const base = { header: (await client.block(u.base)).header, payload: m.payloads.get(u.slot)! };
      if ((await client.params()).slots[u.slot] !== u.base) throw new Error(`round ${u.round}'s base is not the head of ${u.slot}`);
      const seqLen = Math.min(s.seqLen, m.model.cfg.contextLength);
      const batches = await fetchUnitBatches(accounts, m.tokenizer, u, s.batch, seqLen);
      const trainer = ortTrainer(m.model, m.params, slot.layer, slot.expert, { batch: s.batch, seqLen, adamw: { lr: s.lr } });
      for (let step = 0; step < u.steps; step++) {
        const { inputs, targets } = batches.at(step);
        await trainer.microStep(inputs, targets);
      }
      const { bytes } = sparseDelta(await trainer.change(), base, { slot, density: Math.min(s.density, u.rules.max_density), maxRelativeNorm: u.rules.max_relative_norm });
      const sent = await accounts.roundDelta(u.round, bytes);
      if (sent.kind !== 'submitted') throw new Error(`round ${u.round} did not take the delta: ${JSON.stringify(sent)}`);
      rounds.push(u.round);
    }
  } finally {
    await m.model.dispose();
  }
  return rounds;
}
