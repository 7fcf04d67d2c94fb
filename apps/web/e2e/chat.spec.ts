import { ChatPage, expect, expectFetchedAsPlanned, payloadHashesIn, routeSlots, slotHeads, test } from './fixtures.ts';

const PROMPT = 'The router picks two experts';
const SHORT = { temperature: 0, maxTokens: 8 };

/** Block hash → slot name of every expert the relay serves now. */
async function expertSlots(relayUrl: string): Promise<Map<string, string>> {
  return new Map(Object.entries(await slotHeads(relayUrl)).filter(([s]) => s.includes('.expert')).map(([s, h]) => [h, s]));
}

test('a prompt streams text and fetches exactly the experts its download plan names (those the router used, plus predictions); static routing fetches fewer than all', async ({ chat, net, relay, browser }) => {
  const experts = await expertSlots(relay.url);
  await chat.open();
  await chat.settings({ routing: 'dynamic', maxTokens: 12 });
  // Record every change of the answer's text, to see it arrive in pieces.
  await chat.page.evaluate(() => {
    const w = window as unknown as { answerLengths: number[] };
    w.answerLengths = [];
    new MutationObserver(() => {
      const answers = document.querySelectorAll('[data-testid="answer"] > span');
      const text = answers[answers.length - 1]?.textContent ?? '';
      if (text !== '' && text !== '…') w.answerLengths.push(text.length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const { answer, stats, route, plan } = await chat.ask(PROMPT);
  expect(answer.length).toBeGreaterThan(0);
  const lengths = await chat.page.evaluate(() => (window as unknown as { answerLengths: number[] }).answerLengths);
  expect(new Set(lengths).size).toBeGreaterThan(1);
  expect(stats.tokens).toBe(12);
  // Chromium's WebGPU (SwiftShader here) ran it: no fallback notice.
  await expect(chat.page.getByTestId('status')).toContainText('WebGPU');
  await expect(chat.page.getByTestId('backend-notice')).toHaveCount(0);

  const fetched = payloadHashesIn(net.log).flatMap((h) => experts.get(h) ?? []).sort();
  expectFetchedAsPlanned(fetched, route, plan);
  expect(routeSlots(route, (r) => r.downloaded)).toEqual(routeSlots(route, (r) => r.used));

  // Static routing, in a fresh browser profile: each layer's static set is fetched, nothing else.
  const context = await browser.newContext();
  const staticChat = new ChatPage(await context.newPage(), chat.url);
  const mark = net.log.length;
  await staticChat.open();
  await staticChat.settings({ routing: 'static', maxTokens: 12 });
  const s = await staticChat.ask(PROMPT);
  const staticFetched = payloadHashesIn(net.log.slice(mark)).flatMap((h) => experts.get(h) ?? []).sort();
  expect(staticFetched).toEqual(routeSlots(s.route, (r) => r.selected ?? []));
  for (const r of s.route) for (const e of r.used) expect(r.selected).toContain(e);
  expect(staticFetched.length).toBeLessThan(experts.size);
  await context.close();
});

test('after a reload the same prompt fetches no payload from the network', async ({ chat, net }) => {
  await chat.open();
  await chat.settings(SHORT);
  const first = await chat.ask(PROMPT);
  expect(first.stats.expertsDownloaded).toBeGreaterThan(0);
  await chat.page.reload();
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  const mark = net.log.length;
  const again = await chat.ask(PROMPT);
  expect(payloadHashesIn(net.log.slice(mark))).toEqual([]);
  expect(again.answer).toBe(first.answer);
  expect(again.stats.expertsDownloaded).toBe(0);
  expect(again.stats.expertsFromCache).toBe(routeSlots(again.route, (r) => r.selected ?? r.used).length);
});

test('a tampered tile is fetched again once, then the block is reported by name and never cached', async ({ chat, net, relay }) => {
  const experts = await expertSlots(relay.url);
  net.tamper = (path, body) => {
    const m = /^\/v1\/blocks\/([0-9a-f]{64})\/(payload|tiles\/\d+)$/.exec(path);
    if (!m || !experts.has(m[1]!)) return body;
    const bad = Buffer.from(body);
    bad[100]! ^= 0xff;
    return bad;
  };
  await chat.open();
  await chat.page.getByTestId('prompt').fill(PROMPT);
  await chat.page.getByTestId('send').click();
  const error = chat.page.getByTestId('error');
  await expect(error).toBeVisible({ timeout: 60_000 });
  const slot = (await error.getAttribute('data-block'))!;
  expect(slot).toMatch(/^layer0\.expert\d$/);
  const hash = [...experts].find(([, s]) => s === slot)![0];
  await expect(error).toContainText(`block ${slot} (${hash}) failed verification: tile 0 of 2 does not match merkle_root, even after fetching it again`);
  expect(net.log.filter((p) => p === `/v1/blocks/${hash}/tiles/0`)).toHaveLength(1);
  const cached = await chat.cachedHashes();
  expect(cached.filter((h) => experts.has(h))).toEqual([]);
  expect(cached.length).toBeGreaterThan(0);
  await expect(chat.page.getByTestId('send')).toBeEnabled();
  // The question that got no answer left the history and is back in the composer, to send again.
  await expect(chat.page.getByTestId('question')).toHaveCount(0);
  await expect(chat.page.getByTestId('prompt')).toHaveValue(PROMPT);
});

test('Stop ends an answer early and the next prompt runs', async ({ chat }) => {
  await chat.open();
  await chat.settings({ temperature: 0, maxTokens: 120 });
  // On wasm (the whole sequence each step) an answer lasts seconds, the other engines stream 120 tokens of
  // the prompt's loaded experts in about one. Stop is clicked from inside the page the moment the first
  // token shows, so no round trip of the test runner on a loaded machine can let the answer finish first.
  await chat.page.getByTestId('backend').selectOption('wasm');
  await expect(chat.page.getByTestId('status')).toContainText('wasm');
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  await chat.page.getByTestId('prompt').fill(PROMPT);
  const stoppedOnFirstToken = chat.page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const observer = new MutationObserver(() => {
          const text = document.querySelector('[data-testid="answer"] span')?.textContent ?? '';
          if (/^(…)?$/.test(text)) return;
          observer.disconnect();
          document.querySelector<HTMLButtonElement>('[data-testid="stop"]')!.click();
          resolve();
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      }),
  );
  await chat.page.getByTestId('send').click();
  await stoppedOnFirstToken;
  const answer = chat.page.getByTestId('answer').first();
  const stats = answer.getByTestId('stats');
  await expect(stats).toContainText('stopped');
  expect(JSON.parse((await stats.getAttribute('data-stats'))!).tokens).toBeLessThan(120);
  await chat.settings({ maxTokens: 4 });
  expect((await chat.ask(PROMPT)).stats.tokens).toBe(4);
});

test('offline, with the relay and the app server gone, the cached app still answers', async ({ chat, net, app }) => {
  await chat.open();
  await chat.settings(SHORT);
  const first = await chat.ask(PROMPT);
  await chat.page.evaluate(async () => void (await navigator.serviceWorker.ready));
  await net.close();
  await app.close();
  await chat.page.reload();
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  await expect(chat.page.getByTestId('offline')).toBeVisible();
  const again = await chat.ask(PROMPT);
  expect(again.answer).toBe(first.answer);
  expect(again.stats.bytesDownloaded).toBe(0);
});

test('onnxruntime-web (wasm) fetches only the experts its download plan names, and gives the CPU reference’s greedy answer', async ({ chat, net, relay }) => {
  const experts = await expertSlots(relay.url);
  await chat.open();
  await chat.settings(SHORT);
  await chat.page.getByTestId('backend').selectOption('wasm');
  await expect(chat.page.getByTestId('status')).toContainText('wasm');
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  const onWasm = await chat.ask(PROMPT);
  const fetched = payloadHashesIn(net.log).flatMap((h) => experts.get(h) ?? []).sort();
  expectFetchedAsPlanned(fetched, onWasm.route, onWasm.plan);
  await chat.page.getByTestId('backend').selectOption('cpu');
  await expect(chat.page.getByTestId('status')).toContainText('CPU reference');
  await expect(chat.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  const onCpu = await chat.ask(PROMPT);
  expect(onCpu.answer).toBe(onWasm.answer);
  expect(onCpu.route.map((r) => r.used)).toEqual(onWasm.route.map((r) => r.used));
  expect(onCpu.stats.expertsDownloaded).toBe(0);
});

// Last: it changes the relay's heads for the tests after it.
test('a new expert version published on the relay is used by the next prompt', async ({ chat, net, relay }) => {
  await chat.open();
  await chat.settings(SHORT);
  const first = await chat.ask(PROMPT);
  const slot = routeSlots(first.route, (r) => r.used).find((s) => s.startsWith('layer0.'))!;
  const old = first.stats.expertBlocks[slot]!;
  const fresh = await relay.publishExpert(slot);
  expect(fresh).not.toBe(old);
  const mark = net.log.length;
  const second = await chat.ask(PROMPT);
  expect(second.stats.expertBlocks[slot]).toBe(fresh);
  const fetched = payloadHashesIn(net.log.slice(mark));
  expect(fetched).toContain(fresh);
  expect(fetched).not.toContain(old);
});
