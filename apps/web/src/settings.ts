import type { BackendChoice, RoutingMode, Sampling } from './protocol.ts';

/**
 * Where the relay is: `?relay=` (remembered), else the last one used, else this page's own origin
 * (the relay serves the app at /; vite's dev and preview servers proxy /v1 to it).
 */
export function relayUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('relay');
  if (fromQuery) localStorage.setItem('blyan.relay', fromQuery);
  return fromQuery ?? localStorage.getItem('blyan.relay') ?? location.origin;
}

export interface ChatSettings {
  sampling: Sampling;
  routing: RoutingMode;
  cacheLimitMB: number;
  backend: BackendChoice;
}

export const DEFAULT_SETTINGS: ChatSettings = {
  sampling: { temperature: 0.8, topK: 40, topP: 0.95, maxTokens: 48, seed: 1 },
  // The model's default expert budget, chosen from the prompt (genesis v2: 6 of 16 experts per layer).
  routing: 'static',
  cacheLimitMB: 512,
  backend: 'auto',
};

export function loadJson<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

export function saveJson(key: string, value: unknown): void {
  localStorage.setItem(key, JSON.stringify(value));
}
