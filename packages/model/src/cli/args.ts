/** Helpers shared by the command-line entry points. */

/** `text` as a number, or an Error naming the option. */
export function numberArg(name: string, text: string | undefined, check: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const kind = check.integer ? 'an integer' : 'a number';
  if (text.trim() === '' || !Number.isFinite(value) || (check.integer && !Number.isSafeInteger(value))) throw new Error(`--${name} must be ${kind}, got "${text}"`);
  if (check.min !== undefined && value < check.min) throw new Error(`--${name} must be at least ${check.min}, got ${value}`);
  if (check.max !== undefined && value > check.max) throw new Error(`--${name} must be at most ${check.max}, got ${value}`);
  return value;
}

/** `text` if it is one of `choices`, else an Error naming the option. */
export function choiceArg<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new Error(`--${name} must be one of ${choices.join(', ')}, got "${text}"`);
  return text as T;
}

/** Like numberArg, for an option that must be given. */
export function requiredArg<T>(name: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** Runs a command's main function, printing an Error's message (not its stack) and exiting 1 on failure. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
