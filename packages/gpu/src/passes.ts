/**
 * The engine's recorded inference passes, in the order an answer first needs them: the prompt
 * pass (a prompt of two or more tokens, extend), the one-token pass (decoding, a one-token
 * prompt) and the sampler. Each is compiled and recorded once: when the engine is created if
 * EngineOptions.compile names it, else on first use or by BlyanEngine.compile, whichever comes first.
 */
export const PASSES = ['prompt', 'decode', 'sample'] as const;

export type PassName = (typeof PASSES)[number];

/** Where a pass's pipelines are: compiled and recorded, being compiled, or not asked for yet. */
export type PipelineState = 'compiled' | 'compiling' | 'not compiled';

/** `passes` if each is one of PASSES; throws otherwise. */
export function checkPasses(passes: readonly string[]): readonly PassName[] {
  for (const p of passes) if (!(PASSES as readonly string[]).includes(p)) throw new Error(`compile names an unknown pass "${p}" (passes: ${PASSES.join(', ')})`);
  return passes as readonly PassName[];
}

/**
 * A value made once, when first asked for (the first use and any early request share one
 * making); a failed making is forgotten, so the next request tries again.
 */
export class OnFirstUse<T> {
  private making: Promise<T> | null = null;
  private made = false;

  constructor(private readonly make: () => Promise<T>) {}

  get(): Promise<T> {
    if (this.making) return this.making;
    const making = this.make();
    this.making = making;
    making.then(
      () => {
        this.made = true;
      },
      () => {
        if (this.making === making) this.making = null;
      },
    );
    return making;
  }

  get state(): PipelineState {
    return this.made ? 'compiled' : this.making ? 'compiling' : 'not compiled';
  }
}
