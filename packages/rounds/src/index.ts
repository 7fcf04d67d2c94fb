/** Rounds of many contributions judged together: the paired test, DiLoCo aggregation, credit split (browser-safe). */
export { type PairedResult, type PairedTestOptions, pairedTest } from './paired.ts';
export { type Tensors, combine, cosine, dot } from './tensors.ts';
export { type ScreenOptions, type Screened, type Seen, type Submission, screen } from './screen.ts';
export { type OuterOptions, type OuterState, meanChange, outerStep } from './outer.ts';
export { splitCredit } from './credit.ts';
export { type Aggregate, aggregate, roundCredit } from './aggregate.ts';
export { type PairedLosses, type TwoDomainOptions, type TwoDomainVerdict, bpbBudget, twoDomainVerdict } from './two-domains.ts';
