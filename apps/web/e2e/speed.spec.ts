import { expect, test } from './fixtures.ts';

/**
 * Where the waits go, as the page shows them: the status says (in its title) what the start took
 * and its parts, each answer's "first token" what the first token took and its parts; on this
 * SwiftShader-only machine the engine calibration runs once and the next start reuses it.
 */
test('the start and the first token come with their parts; the engine calibration is remembered across reloads', async ({ chat }) => {
  const { page } = chat;
  const send = page.getByTestId('send');
  const status = page.getByTestId('status');
  const notice = page.getByTestId('backend-notice');
  const startup = async () => JSON.parse((await status.getAttribute('data-startup'))!) as { ms: number; parts: Record<string, number> };

  // First start, Engine on auto: the engines are timed, and the start's parts say so.
  await page.goto(chat.url);
  await expect(send).toBeEnabled({ timeout: 120_000 });
  await expect(notice).toContainText('This device’s only WebGPU adapter is SwiftShader, software rather than a GPU. A short test decoded');
  const chosen = /so the model runs on (WebGPU|wasm|the CPU reference), the fastest here/.exec((await notice.textContent())!)![1]!;
  const first = await startup();
  expect(Object.keys(first.parts)).toEqual(expect.arrayContaining(['GPU device', 'heads and trust check', 'transfer and verification', 'engine calibration']));
  for (const t of Object.values(first.parts)) expect(t).toBeLessThanOrEqual(first.ms);
  await expect(status).toHaveAttribute('title', new RegExp(`^Model ready in ${Math.round(first.ms)} ms: .*engine calibration \\d+ ms`));

  // A reload (a new worker): the calibration is not run again, the same engine is chosen, and the notice says when it was measured.
  const statuses: string[] = [];
  await page.exposeFunction('blyanSawStatus', (text: string) => statuses.push(text));
  await page.addInitScript(() => {
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="status"]')?.textContent;
      if (text) (window as unknown as { blyanSawStatus(t: string): void }).blyanSawStatus(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.reload();
  await expect(send).toBeEnabled({ timeout: 60_000 });
  await expect(notice).toContainText(`A short test on an earlier visit decoded`);
  await expect(notice).toContainText(`so the model runs on ${chosen}, the fastest here`);
  expect(statuses.filter((s) => s.includes('timing each engine'))).toEqual([]);
  expect(Object.keys((await startup()).parts)).not.toContain('engine calibration');

  // An answer: its first token's parts, each no longer than the wait itself.
  await page.getByTestId('temperature').fill('0');
  await page.getByTestId('max-tokens').fill('4');
  await page.getByTestId('prompt').fill('Once upon a time');
  await send.click();
  const stats = page.getByTestId('answer').first().getByTestId('stats');
  await expect(stats).toBeVisible({ timeout: 90_000 });
  const s = JSON.parse((await stats.getAttribute('data-stats'))!) as { ttftMs: number; ttftParts: Record<string, number> };
  expect(Object.keys(s.ttftParts)).toEqual(expect.arrayContaining(['heads and trust check', 'router probe']));
  for (const t of Object.values(s.ttftParts)) expect(t).toBeLessThanOrEqual(s.ttftMs);
  await expect(page.getByTestId('ttft')).toHaveAttribute('title', new RegExp(`^First token in ${Math.round(s.ttftMs)} ms: .*router probe \\d+ ms.*\\(phases may overlap\\)$`));
});

/**
 * The page is ready (Send enabled) before any WebGPU pipeline compiles: the first token is the CPU
 * prompt pass's, so the engine compiles its passes after the start (GpuRunner): a moment after it
 * while the page waits for a prompt, or, for a prompt sent at once, after that prompt's first
 * token. The worker reports where each pass was when it said ready, so the test fails when the
 * start waits for them (or even begins them).
 */
test('Send is enabled before the WebGPU pipelines compile; they compile after it, and the greedy answer is the CPU reference’s', async ({ chat }) => {
  const { page } = chat;
  const status = page.getByTestId('status');
  const startup = async () => {
    await expect(status).toHaveAttribute('data-startup', /pipelines/);
    return JSON.parse((await status.getAttribute('data-startup'))!) as { parts: Record<string, number>; pipelines: Record<string, string> };
  };
  const none = { prompt: 'not compiled', decode: 'not compiled', sample: 'not compiled' };
  const compiledAfter = /; WebGPU pipelines compiled after it in \d+ ms$/;
  await chat.open();
  const first = await startup();
  expect(first.pipelines).toEqual(none);
  expect(Object.keys(first.parts)).toContain('engine: creation');

  // Asked at once: the answer's GPU part compiles the pipelines after its first token.
  await chat.settings({ temperature: 0, maxTokens: 8 });
  const onGpu = await chat.ask('The router picks two experts');
  expect(onGpu.stats.tokens).toBe(8);
  await expect(page.getByTestId('backend-notice')).toBeHidden();
  await expect(status).toHaveAttribute('title', compiledAfter);

  // A new start left waiting for a prompt compiles them in the background.
  await page.reload();
  await expect(page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  expect((await startup()).pipelines).toEqual(none);
  await expect(status).toHaveAttribute('title', compiledAfter, { timeout: 60_000 });

  await page.getByTestId('backend').selectOption('cpu');
  await expect(status).toContainText('CPU reference');
  await expect(page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  const onCpu = await chat.ask('The router picks two experts');
  expect(onCpu.answer).toBe(onGpu.answer);
});
