import type { ChatSettings } from './settings.ts';

/** A number field of the settings: its bounds, as the field shows them and as Send requires them. */
export interface Bound {
  min: number;
  max: number;
  step: number;
  integer: boolean;
}

export type NumberField = 'temperature' | 'topK' | 'topP' | 'maxTokens' | 'seed' | 'cacheLimitMB';

export const BOUNDS: Record<NumberField, Bound> = {
  temperature: { min: 0, max: 2, step: 0.05, integer: false },
  topK: { min: 0, max: 1000, step: 1, integer: true },
  topP: { min: 0.05, max: 1, step: 0.05, integer: false },
  maxTokens: { min: 1, max: 512, step: 1, integer: true },
  seed: { min: 0, max: 2 ** 32 - 1, step: 1, integer: true },
  cacheLimitMB: { min: 16, max: 65536, step: 1, integer: true },
};

/** Why `value` is not allowed in `field`, in words the field can show; null when it is fine. */
export function checkField(field: NumberField, value: number): string | null {
  const b = BOUNDS[field];
  if (!Number.isFinite(value)) return `enter a number from ${b.min} to ${b.max}`;
  if (value < b.min || value > b.max) return `must be from ${b.min} to ${b.max}`;
  if (b.integer && !Number.isInteger(value)) return 'must be a whole number';
  return null;
}

export const fieldValue = (s: ChatSettings, field: NumberField): number => (field === 'cacheLimitMB' ? s.cacheLimitMB : s.sampling[field]);

/** Every field that is out of bounds, with its reason. */
export function settingsErrors(s: ChatSettings): Partial<Record<NumberField, string>> {
  const errors: Partial<Record<NumberField, string>> = {};
  for (const field of Object.keys(BOUNDS) as NumberField[]) {
    const e = checkField(field, fieldValue(s, field));
    if (e !== null) errors[field] = e;
  }
  return errors;
}
