import { type Page, expect } from '@playwright/test';
import type { AnswerStats, LayerRoute } from '../src/protocol.ts';

/** The chat page driven like a person would, plus what it shows. */
export class ChatPage {
  constructor(
    readonly page: Page,
    readonly url: string,
  ) {}

  /**
   * Opens the chat. These tests drive the WebGPU engine: on this machine's SwiftShader the app's
   * own choice ("fastest on this device") would be the CPU reference (walk.spec.ts checks that
   * choice), so a page without saved settings starts on WebGPU.
   */
  async open(): Promise<void> {
    await this.page.addInitScript(() => {
      if (localStorage.getItem('blyan.settings') === null) localStorage.setItem('blyan.settings', JSON.stringify({ backend: 'webgpu' }));
    });
    await this.page.goto(this.url);
    await expect(this.page.getByTestId('send')).toBeEnabled({ timeout: 60_000 });
  }

  async settings(s: { routing?: 'dynamic' | 'static'; temperature?: number; maxTokens?: number }): Promise<void> {
    if (s.routing) await this.page.getByTestId('routing').selectOption(s.routing);
    if (s.temperature !== undefined) await this.page.getByTestId('temperature').fill(String(s.temperature));
    if (s.maxTokens !== undefined) await this.page.getByTestId('max-tokens').fill(String(s.maxTokens));
  }

  /** Sends a prompt and waits for the answer to finish; returns its text, stats and route map. */
  async ask(text: string): Promise<{ answer: string; stats: AnswerStats; route: LayerRoute[] }> {
    const answers = this.page.getByTestId('answer');
    const before = await answers.count();
    await this.page.getByTestId('prompt').fill(text);
    await this.page.getByTestId('send').click();
    const answer = answers.nth(before);
    const stats = answer.getByTestId('stats');
    await expect(stats).toBeVisible({ timeout: 90_000 });
    const route = JSON.parse((await this.page.getByTestId('expert-map').getAttribute('data-route'))!) as LayerRoute[];
    return { answer: (await answer.locator('span').first().textContent()) ?? '', stats: JSON.parse((await stats.getAttribute('data-stats'))!) as AnswerStats, route };
  }

  /** Hashes of the blocks the page's IndexedDB cache holds payloads for. */
  cachedHashes(): Promise<string[]> {
    return this.storedKeys('payloads');
  }

  /** The keys of one object store of the page's block cache (IndexedDB `blyan-blocks`). */
  storedKeys(store: 'entries' | 'payloads' | 'state'): Promise<string[]> {
    return this.page.evaluate(
      (name) =>
        new Promise<string[]>((resolve, reject) => {
          const open = indexedDB.open('blyan-blocks');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const req = open.result.transaction(name).objectStore(name).getAllKeys();
            req.onsuccess = () => {
              resolve(req.result as string[]);
              open.result.close();
            };
            req.onerror = () => reject(req.error);
          };
        }),
      store,
    );
  }
}

export const payloadHashesIn = (log: readonly string[]): string[] => log.flatMap((p) => /^\/v1\/blocks\/([0-9a-f]{64})\/payload$/.exec(p)?.[1] ?? []);

/** Slot → head block hash, from the relay itself. */
export async function slotHeads(relayUrl: string): Promise<Record<string, string>> {
  return ((await (await fetch(`${relayUrl}/v1/params`)).json()) as { slots: Record<string, string> }).slots;
}

/** `layer{l}.expert{e}` names of every expert in the route's sets. */
export const routeSlots = (route: LayerRoute[], which: (r: LayerRoute) => number[]): string[] =>
  route.flatMap((r, l) => which(r).map((e) => `layer${l}.expert${e}`)).sort();

