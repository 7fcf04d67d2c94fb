import { type Routing, budgetRouting, expertsUsed, greedyDecode } from '@blyan/model';
import { expertSlotName, parseMetaPayload, throughBlocks } from '@blyan/model/blocks';
import { readCheckpoint } from '@blyan/model/checkpoint';
import { PREDICTED_MASS, predictExperts } from '../src/worker/planner.ts';
import { ChatPage, test as base, expect, expectFetchedAsPlanned, payloadHashesIn, slotHeads } from './fixtures.ts';
import { GENESIS_CHECKPOINT } from './paths.ts';
import { type RelayProcess, startRelay } from './relay-process.ts';

/**
 * The download planner on genesis v2 (16 experts per layer, budgets chosen from the prompt): the
 * relay's log (the proxy every request passes) must hold exactly the expert payloads the CPU
 * reference's router needs for a fixed prompt, each once.
 */
const test = base.extend<object, { relay: RelayProcess }>({
  relay: [
    async ({}, use) => {
      const relay = await startRelay(GENESIS_CHECKPOINT);
      await use(relay);
      await relay.stop();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
});

const PROMPT = 'Fellow-Citizens of the Senate and House of Representatives: The state of the Union';
const TOKENS = 12;

const v2 = readCheckpoint(GENESIS_CHECKPOINT);
const reference = throughBlocks(v2.config, v2.params, 'int8').params;
const prompt = v2.tokenizer.encode(PROMPT);

/** The reference's greedy answer under `routing`: its text, and per layer the prompt's router mass and every position's experts. */
function referenceRun(routing: Routing) {
  const { tokens, state } = greedyDecode(reference, v2.config, prompt, TOKENS, routing);
  const mass = state.routes.map((positions) => Array.from({ length: v2.config.nExperts }, (_, e) => positions.slice(0, prompt.length).reduce((s, r) => s + r.probs[e]!, 0) / prompt.length));
  const slots = (from: number, to: number) => new Set(state.routes.flatMap((positions, l) => positions.slice(from, to).flatMap((r) => r.experts.map((e) => expertSlotName(l, e)))));
  // The last generated token is never fed back through the model.
  return { text: v2.tokenizer.decode(tokens), allowed: state.allowed, used: expertsUsed(state), mass, prompt: slots(0, prompt.length), answer: slots(prompt.length, prompt.length + TOKENS - 1) };
}

/** Slot names of the expert payloads in the relay's log since `mark`. */
async function fetchedExperts(relayUrl: string, log: string[], mark: number): Promise<string[]> {
  const bySlot = new Map(Object.entries(await slotHeads(relayUrl)).map(([slot, hash]) => [hash, slot]));
  return payloadHashesIn(log.slice(mark)).flatMap((h) => bySlot.get(h) ?? []).filter((s) => s.includes('.expert'));
}

test('each budget fetches exactly the experts its prompt chose, each once, all before the first token, and answers as the reference', async ({ chat, net, relay, browser }) => {
  const meta = parseMetaPayload(await (await fetch(`${relay.url}/v1/blocks/${relay.genesis}/payload`)).arrayBuffer().then((b) => new Uint8Array(b)));
  expect(meta.routing.budgets).toEqual({ default: 6, lowBandwidth: 3 });
  for (const [mode, m] of [['static', 6], ['low-bandwidth', 3]] as const) {
    // A fresh browser profile per mode: nothing cached, nothing in memory.
    const context = await browser.newContext();
    const fresh = new ChatPage(await context.newPage(), chat.url);
    const mark = net.log.length;
    await fresh.open();
    await fresh.settings({ routing: mode, temperature: 0, maxTokens: TOKENS });
    const { answer, plan, stats } = await fresh.ask(PROMPT);
    await context.close();
    const expected = referenceRun(budgetRouting(m, v2.config));
    const sets = expected.allowed.flatMap((set, l) => set!.map((e) => expertSlotName(l, e))).sort();
    expect(sets).toHaveLength(m * v2.config.nLayers);
    const fetched = await fetchedExperts(relay.url, net.log, mark);
    expect(fetched.sort(), `${mode}: the expert payloads at the relay`).toEqual(sets);
    expect(plan.map((f) => [f.slot, f.reason]).sort(), `${mode}: the plan the page shows`).toEqual(sets.map((s) => [s, 'prompt']));
    expect(stats.expertsDownloaded).toBe(sets.length);
    expect(answer).toBe(expected.text);
  }
});

test('dynamic routing fetches the prompt’s experts, prefetches those holding 90 % of its router mass, and fetches only the rest on demand', async ({ chat, net, relay }) => {
  await chat.open();
  await chat.settings({ routing: 'dynamic', temperature: 0, maxTokens: TOKENS });
  const mark = net.log.length;
  const { answer, plan, route } = await chat.ask(PROMPT);
  const expected = referenceRun({ mode: 'dynamic' });
  const predicted = new Set(predictExperts(expected.mass, PREDICTED_MASS, ({ layer, expert }) => expected.prompt.has(expertSlotName(layer, expert))).map((r) => expertSlotName(r.layer, r.expert)));
  const onDemand = [...expected.answer].filter((s) => !expected.prompt.has(s) && !predicted.has(s));
  const fetched = await fetchedExperts(relay.url, net.log, mark);
  expectFetchedAsPlanned(fetched, route, plan);
  const reasons = Object.fromEntries(plan.map((f) => [f.slot, f.reason]));
  const want = Object.fromEntries([...[...expected.prompt].map((s) => [s, 'prompt']), ...[...predicted].map((s) => [s, 'predicted']), ...onDemand.map((s) => [s, 'on-demand'])]);
  expect(reasons).toEqual(want);
  expect(fetched.length).toBeLessThan(v2.config.nLayers * v2.config.nExperts);
  expect(answer).toBe(expected.text);
});

test('on onnxruntime-web (wasm) the graph chooses the default budget from the prompt (expert_budgets): the same experts fetched, routed and answered as the reference', async ({ chat, net, relay }) => {
  await chat.open();
  await chat.settings({ routing: 'static', temperature: 0, maxTokens: TOKENS });
  await chat.page.getByTestId('backend').selectOption('wasm');
  await expect(chat.page.getByTestId('status')).toContainText('wasm');
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  const mark = net.log.length;
  const { answer, route } = await chat.ask(PROMPT);
  const expected = referenceRun(budgetRouting(6, v2.config));
  expect((await fetchedExperts(relay.url, net.log, mark)).sort()).toEqual(expected.allowed.flatMap((set, l) => set!.map((e) => expertSlotName(l, e))).sort());
  expect(route.map((r) => r.used)).toEqual(expected.used);
  expect(answer).toBe(expected.text);
});
