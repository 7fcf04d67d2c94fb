import { type Address, type ChainId, type Hash, isHash } from '@blyan/block';
import { ApiError } from './api-error.ts';

export function hashParam(value: string, what: string): Hash {
  if (!isHash(value)) throw new ApiError(400, 'bad_hash', `${what} must be 64 lowercase hex characters`);
  return value;
}

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;

/** An address in any case, lowercased; anything else is 400 bad_address with `message`. */
export function addressParam(value: string, message: string): Address {
  const address = value.toLowerCase();
  if (!ADDRESS_RE.test(address)) throw new ApiError(400, 'bad_address', message);
  return address as Address;
}

export function intParam(value: string | undefined, what: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ApiError(400, 'bad_query', `${what} must be an integer in [${min}, ${max}]`);
  }
  return Number(value);
}

export function chainParam(value: string | undefined): ChainId | undefined {
  if (value === undefined) return undefined;
  if (value !== 'A' && value !== 'B' && value !== 'D') throw new ApiError(400, 'bad_query', 'chain must be A, B or D');
  return value;
}
