import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../src/settings.ts';
import { checkField, settingsErrors } from '../src/settings-check.ts';

describe('chat settings bounds', () => {
  it('accepts the defaults', () => {
    expect(settingsErrors(DEFAULT_SETTINGS)).toEqual({});
  });

  it('names the bounds of a value outside them, a fraction where a whole number goes, and an empty field', () => {
    expect(checkField('temperature', -5)).toBe('must be from 0 to 2');
    expect(checkField('maxTokens', 100_000)).toBe('must be from 1 to 512');
    expect(checkField('maxTokens', 2.5)).toBe('must be a whole number');
    expect(checkField('topP', Number.NaN)).toBe('enter a number from 0.05 to 1');
  });

  it('lists every bad field of a settings object', () => {
    const bad = { ...DEFAULT_SETTINGS, cacheLimitMB: 0, sampling: { ...DEFAULT_SETTINGS.sampling, temperature: -5, maxTokens: 100_000 } };
    expect(Object.keys(settingsErrors(bad)).sort()).toEqual(['cacheLimitMB', 'maxTokens', 'temperature']);
  });
});
