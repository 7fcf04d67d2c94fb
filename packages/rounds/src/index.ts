/** Rounds of many contributions judged together: the paired test, DiLoCo aggregation, credit split (browser-safe). */
export { type PairedResult, type PairedTestOptions, pairedTest } from './paired.ts';
