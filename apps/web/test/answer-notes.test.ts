import { describe, expect, it } from 'vitest';
import { endNote, startupNote, tokensPerSecond, truncationNote } from '../src/ui/answer-notes.ts';

describe('what the page says about an answer', () => {
  it('measures generation speed after the first token', () => {
    expect(tokensPerSecond({ tokens: 11, ttftMs: 500, totalMs: 1500 })).toBe(10);
    expect(tokensPerSecond({ tokens: 1, ttftMs: 250, totalMs: 250 })).toBe(4);
    expect(tokensPerSecond({ tokens: 0, ttftMs: 0, totalMs: 0 })).toBe(0);
  });

  it('says why an answer ended early, and nothing when it used its Max tokens', () => {
    const s = { tokens: 17, contextLength: 256 };
    expect(endNote({ ...s, end: 'max-tokens' }, 48)).toBeNull();
    expect(endNote({ ...s, end: 'end-of-text' }, 48)).toBe('The model ended the text after 17 tokens of the 48 allowed.');
    expect(endNote({ ...s, end: 'context-full' }, 48)).toContain('reads at most 256 tokens');
    expect(endNote({ ...s, tokens: 1, end: 'stopped' }, 48)).toBe('Stopped by you after 1 token.');
  });

  it('says how much of a long prompt the model did not read', () => {
    expect(truncationNote({ promptTokens: 100, promptTokensRead: 100, contextLength: 256 })).toBeNull();
    expect(truncationNote({ promptTokens: 1500, promptTokensRead: 208, contextLength: 256 })).toBe(
      'Your message is 1,500 tokens long; the model reads at most 256 tokens, so it continued only the last 208 tokens and did not see the rest.',
    );
  });

  it('says what the start took, then how long the WebGPU pipelines took to compile after it', () => {
    const start = { ms: 1234.4, parts: { 'GPU device': 80, 'engine: creation': 12.6 } };
    expect(startupNote(start)).toBe('Model ready in 1234 ms: GPU device 80 ms, engine: creation 13 ms (phases may overlap)');
    expect(startupNote({ ...start, compiledMs: 2104.7 })).toBe('Model ready in 1234 ms: GPU device 80 ms, engine: creation 13 ms (phases may overlap); WebGPU pipelines compiled after it in 2105 ms');
  });
});
