import { parseArgs } from 'node:util';
import type { Backends } from '../store/open.ts';
import { parseS3Url } from '../store/s3-object-store.ts';

/** A bad command line: reported with the usage text and exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Log = (line: string) => void;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** `node:util` parseArgs in strict mode, its errors turned into UsageErrors; allows `maxPositionals`. */
export function parse<const O extends Options>(args: string[], options: O, maxPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument ${parsed.positionals[maxPositionals]}`);
  return parsed;
}

export function intOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${value}`);
  return n;
}

/** A non-negative loss figure in nats/token (`--min-improvement`, `--round-own-margin`). */
export function natsOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n >= 0 && Number.isFinite(n))) throw new UsageError(`--${name} must be a non-negative number of nats/token, got ${value}`);
  return n;
}

/** `--store DIR` (this relay's files), and optionally `--database postgres://…` and `--objects s3://…` for shared back-ends. */
export const STORE_OPTION = { store: { type: 'string' }, database: { type: 'string' }, objects: { type: 'string' } } as const;

/** `--database`, else $BLYAN_DATABASE_URL; `--objects`, else $BLYAN_OBJECTS_URL; each checked for its scheme. */
export function backendsFrom(flags: { database?: string; objects?: string }, env: NodeJS.ProcessEnv = process.env): Backends {
  const database = flags.database ?? (env.BLYAN_DATABASE_URL || undefined);
  const objects = flags.objects ?? (env.BLYAN_OBJECTS_URL || undefined);
  if (database !== undefined && !/^postgres(ql)?:\/\//.test(database)) throw new UsageError(`--database must be a postgres:// URL, got ${database}`);
  if (objects !== undefined) {
    try {
      parseS3Url(objects);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return { ...(database !== undefined && { database }), ...(objects !== undefined && { objects }) };
}
