import type { AnswerStats } from '../protocol.ts';
import { count } from './format.ts';

/** Tokens per second of an answer's generation (after its first token), or of the whole answer when it has one token. */
export function tokensPerSecond(s: Pick<AnswerStats, 'tokens' | 'ttftMs' | 'totalMs'>): number {
  const decoding = s.totalMs - s.ttftMs;
  return s.tokens > 1 && decoding > 0 ? ((s.tokens - 1) * 1000) / decoding : s.totalMs > 0 ? (s.tokens * 1000) / s.totalMs : 0;
}

/** Why the answer ended, when that is not simply the Max tokens the user set. */
export function endNote(s: Pick<AnswerStats, 'end' | 'tokens' | 'contextLength'>, maxTokens: number): string | null {
  switch (s.end) {
    case 'max-tokens':
      return null;
    case 'stopped':
      return `Stopped by you after ${count(s.tokens, 'token')}.`;
    case 'end-of-text':
      return `The model ended the text after ${count(s.tokens, 'token')} of the ${maxTokens} allowed.`;
    case 'context-full':
      return `Stopped after ${count(s.tokens, 'token')} of ${maxTokens}: the model reads at most ${s.contextLength} tokens, prompt and answer together.`;
  }
}

/** What of a long prompt the model did not read. */
export function truncationNote(s: Pick<AnswerStats, 'promptTokens' | 'promptTokensRead' | 'contextLength'>): string | null {
  if (s.promptTokensRead >= s.promptTokens) return null;
  return `Your message is ${count(s.promptTokens, 'token')} long; the model reads at most ${s.contextLength} tokens, so it continued only the last ${count(s.promptTokensRead, 'token')} and did not see the rest.`;
}

/** Where a wait went, as one line: "ready in 412 ms: GPU device 31 ms, engine: creation 50 ms, …", phases longest first. */
export function partsNote(what: string, ms: number, parts: Readonly<Record<string, number>>): string {
  const list = Object.entries(parts)
    .sort((a, b) => b[1] - a[1])
    .map(([phase, t]) => `${phase} ${Math.round(t)} ms`);
  return `${what} ${Math.round(ms)} ms${list.length ? `: ${list.join(', ')}` : ''} (phases may overlap)`;
}

/** The start's note: its parts, then (once they are) the WebGPU pipelines compiled after it. */
export function startupNote(s: { ms: number; parts: Readonly<Record<string, number>>; compiledMs?: number }): string {
  const later = s.compiledMs === undefined ? '' : `; WebGPU pipelines compiled after it in ${Math.round(s.compiledMs)} ms`;
  return `${partsNote('Model ready in', s.ms, s.parts)}${later}`;
}
