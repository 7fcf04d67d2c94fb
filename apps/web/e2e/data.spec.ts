import { expect, test } from './signed-in-app.ts';
import { signedIn } from './wallet.ts';

const DOCS = [
  'The lighthouse keeper wrote every evening about the weather, the ships that passed and the birds that rested on the gallery rail.',
  'A recipe for bread: mix flour, water, salt and yeast, knead for ten minutes, let it rise twice and bake it in a hot oven until golden.',
  'The village council met on Tuesday to discuss the new bridge, the school roof and the summer market that fills the square each July.',
  Array.from({ length: 12 }, () => 'Win a free cruise now, click the link below').join('\n'),
];
const FILE = DOCS.join('\n<|endoftext|>\n');

test('a signed-in user uploads a small file, sees the verdicts and the tier, two other accounts review its sample, and the explorer shows the dataset', async ({ app, relay, browser }) => {
  test.setTimeout(180_000);
  const url = `${app.url}/?relay=${encodeURIComponent(relay.url)}`;
  const uploader = await signedIn(browser, url, '#/data');
  const { page } = uploader;

  await page.getByTestId('dataset-name').fill('e2e-notes');
  await page.getByTestId('dataset-source').fill('written for the e2e test');
  await page.getByTestId('dataset-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(FILE) });
  // The page's own prefilter answers before anything is sent.
  const local = page.getByTestId('local-verdicts').locator('li');
  await expect(local).toHaveCount(4);
  await expect(local.nth(3)).toHaveAttribute('data-code', 'repeated_line');
  await expect(local.filter({ hasText: 'kept' })).toHaveCount(3);

  await page.getByTestId('upload').click();
  await expect(page.getByTestId('upload-progress')).toBeVisible();
  await expect(page.getByTestId('upload-state')).toHaveText('review', { timeout: 60_000 });
  await expect(page.getByTestId('relay-verdicts').locator('li[data-code="repeated_line"]')).toHaveCount(1);
  await expect(page.getByTestId('upload-tiers')).toContainText(/gold \d+ · silver \d+ · experimental \d+ · \d+\.\d+ bits\/byte/);
  // Nobody reviews their own upload.
  await expect(page.getByTestId('review-empty')).toBeVisible();

  for (let i = 0; i < 2; i++) {
    const reviewer = await signedIn(browser, url, '#/data');
    await expect(reviewer.page.getByTestId('review-text')).toBeVisible({ timeout: 30_000 });
    const text = await reviewer.page.getByTestId('review-text').textContent();
    expect(DOCS.slice(0, 3)).toContain(text);
    await reviewer.page.getByTestId('vote-keep').click();
    await expect(reviewer.page.getByTestId('review-note')).toContainText('Voted keep');
    await reviewer.context.close();
  }

  await page.goto(`${url}#/explorer`);
  const row = page.getByTestId('dataset-list').locator('tr[data-name="e2e-notes"]');
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row.locator('td').nth(9)).toHaveText('1');
  await expect(row.locator('td').nth(10)).toHaveText('2');
  await expect(row).toContainText(uploader.address.slice(0, 8));
  await row.getByRole('button', { name: 'e2e-notes' }).click();
  await expect(page.getByTestId('dataset-detail')).toContainText('written for the e2e test');
  await expect(page.getByTestId('dataset-detail')).toContainText('2 votes');
  await uploader.context.close();
});
