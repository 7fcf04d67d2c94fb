import type { Hash } from '@blyan/block';

/** Why a contribution was not queued: the HTTP status, a stable code and a sentence. */
export interface Refusal {
  readonly ok: false;
  readonly status: 400 | 403 | 404 | 409 | 422 | 429 | 503;
  readonly code: string;
  readonly message: string;
  /** On `stale_base`: the slot's current head, to rebase on. */
  readonly head?: Hash | null;
}

export const refuse = (status: Refusal['status'], code: string, message: string, head?: Hash | null): Refusal => ({
  ok: false,
  status,
  code,
  message,
  ...(head !== undefined && { head }),
});
