import { ChatPage } from './chat-page.ts';
import { expect, test } from './signed-in-app.ts';
import { signedIn } from './wallet.ts';

const NAME = 'e2e-rounds';
const NOUNS = ['river', 'lantern', 'harbour', 'orchard', 'meadow', 'compass', 'archive', 'furnace', 'glacier', 'village', 'market', 'bridge', 'kettle', 'ladder', 'quarry', 'saddle', 'tunnel', 'violin'];
const VERBS = ['carries', 'follows', 'remembers', 'shelters', 'measures', 'outlasts', 'answers', 'gathers', 'borrows', 'mends', 'paints'];
/** A document of plain prose, distinct per seed. */
const prose = (seed: number) =>
  Array.from({ length: 8 }, (_, i) => {
    const n = (k: number) => NOUNS[(seed * 7 + i * 3 + k * 5) % NOUNS.length];
    return `The ${n(0)} ${VERBS[(seed * 3 + i) % VERBS.length]} the ${n(1)} near the ${n(2)} number ${seed * 31 + i}.`;
  }).join(' ');
/** 200 documents: a twentieth is held out on average, so the held-out part almost surely has the 256 tokens a round needs. */
const FILE = Array.from({ length: 200 }, (_, i) => prose(i + 1)).join('\n<|endoftext|>\n');
const PROMPT = 'The lantern follows the harbour near the orchard, and the village remembers the bridge near the market every evening';

/**
 * The relay runs rounds at production settings (DEFAULT_ROUNDS: H = 16, 32 hidden windows, 99 %
 * paired test with margin 1e-4, own-shard screen at 99 % with margin 0.02, outer lr 0.05 with
 * Nesterov 0.9, genesis budget 0.01 bits per byte) except for what one browser cannot supply:
 * a round is full with one work unit (production waits for 8, or 15 minutes); a delta is kept
 * when its own-shard gain is surely above 0, not 0.02 nats/token (at the browser's defaults one
 * delta gains 0.005 to 0.008 on this model, so at 0.02 every round was all_dropped); rounds train on
 * every tier, since the e2e model is a fresh random one that codes no text under 4.5 bits per
 * byte (production trains on gold and silver); one review vote on one sampled document settles
 * an upload (production: 3 votes on each of 5).
 */
test.use({ relayOptions: ['--round-contributors', '1', '--round-tiers', 'gold,silver,experimental', '--round-own-margin', '0', '--review-sample', '1', '--review-votes', '1'] });

test('a signed-in browser uploads a dataset, another reviews it and works in a round on it until the round is kept, both histories show the round, and a third browser answers with the new version', async ({ app, relay, browser }) => {
  test.setTimeout(420_000);
  const url = `${app.url}/?relay=${encodeURIComponent(relay.url)}`;

  const uploader = await signedIn(browser, url, '#/data');
  await uploader.page.getByTestId('dataset-name').fill(NAME);
  await uploader.page.getByTestId('dataset-source').fill('written for the e2e test');
  await uploader.page.getByTestId('dataset-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(FILE) });
  await uploader.page.getByTestId('upload').click();
  await expect(uploader.page.getByTestId('upload-state')).toHaveText('review', { timeout: 120_000 });

  // Another account reviews the sample: the upload is appended to chain D.
  const contributor = await signedIn(browser, url, '#/data');
  await expect(contributor.page.getByTestId('review-text')).toBeVisible({ timeout: 30_000 });
  await contributor.page.getByTestId('vote-keep').click();
  await expect(contributor.page.getByTestId('review-note')).toContainText('Voted keep');
  await expect.poll(async () => ((await (await fetch(`${relay.url}/v1/datasets/${NAME}`)).json()) as { head: string | null }).head, { timeout: 60_000 }).not.toBeNull();

  // The contributor works in rounds on the dataset until one is kept.
  const page = contributor.page;
  await page.getByRole('link', { name: 'Contribute' }).click();
  await page.getByTestId('contribute-dataset').fill(NAME);
  await page.getByTestId('contribute-switch').check();
  await expect(page.getByTestId('unit')).toHaveAttribute('data-dataset', NAME, { timeout: 60_000 });
  await expect(page.getByTestId('unit')).toContainText('16 micro-steps');
  const kept = page.locator('[data-testid="round-row"][data-state="accepted"]').first();
  await expect(kept).toBeVisible({ timeout: 300_000 });
  await page.getByTestId('contribute-switch').uncheck();
  const round = (await kept.getAttribute('data-round'))!;
  const block = (await kept.getAttribute('data-block'))!;
  await expect(kept.getByTestId('verdict')).toContainText(`Round ${round} was kept`);
  await expect(kept.getByTestId('own-score')).toContainText('kept');
  const credit = Number(await kept.getByTestId('round-credit').getAttribute('data-credit'));
  expect(credit).toBeGreaterThan(0);

  // The round's block is the slot's head, judged on the dataset's held-out part and the genesis split.
  const view = (await (await fetch(`${relay.url}/v1/rounds/${round}`)).json()) as { slot: string; dataset: string; block: string; genesis: { lower: number; bound: number }; uploaders: { account: string; credit: number }[] };
  expect(view).toMatchObject({ dataset: NAME, block, uploaders: [{ account: uploader.address }] });
  expect(view.genesis.lower).toBeGreaterThan(-view.genesis.bound);

  // Both histories show the round: the contributor's share and the uploader's.
  const history = async (who: string) => ((await (await fetch(`${relay.url}/v1/accounts/${who}/history`)).json()) as { entries: { kind: string; ref: string; amount: number }[] }).entries;
  expect(await history(contributor.address)).toContainEqual(expect.objectContaining({ kind: 'round', ref: round, amount: credit }));
  expect(await history(uploader.address)).toContainEqual(expect.objectContaining({ kind: 'round', ref: round, amount: view.uploaders[0]!.credit }));

  // A third browser answers with the new version of the slot.
  const readerContext = await browser.newContext();
  const reader = new ChatPage(await readerContext.newPage(), url);
  await reader.open();
  await reader.settings({ temperature: 0, maxTokens: 6, routing: 'dynamic' });
  const { stats } = await reader.ask(PROMPT);
  expect(Object.keys(stats.expertBlocks), `the prompt must route to ${view.slot} for this check`).toContain(view.slot);
  expect(stats.expertBlocks[view.slot]).toBe(block);

  await readerContext.close();
  await contributor.context.close();
  await uploader.context.close();
});
