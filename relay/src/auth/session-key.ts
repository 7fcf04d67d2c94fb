import type { Address } from '@blyan/block';
import { type Hex, isHex, recoverMessageAddress } from 'viem';
import type { IndexStore } from '../store/index-store.ts';

export type KeyCheck = { ok: true } | { ok: false; status: 400 | 401 | 403 | 409; code: string; message: string };

/** The keys the meta head trusts (authorities and evaluators): none of them may be a session key. */
export async function trustedKeys(index: IndexStore): Promise<ReadonlySet<Address>> {
  const meta = await index.metaHead();
  const h = meta === null ? undefined : (await index.block(meta))?.header;
  return new Set(h?.type === 'meta' ? [...h.meta.authorities, ...h.meta.evaluators] : []);
}

/**
 * May the login delegate to `sessionKey`? Not a key the meta head trusts (403: a delegation to it
 * would let an account's usage or blocks pass for an authority's or evaluator's); not the key of
 * another live session (409: one key, one delegation); and only with proof of possession:
 * `keySignature` is the session key's EIP-191 signature of the SIWE message itself.
 */
export async function checkSessionKey(
  sessionKey: Address,
  message: string,
  keySignature: unknown,
  trusted: ReadonlySet<Address>,
  inUse: (key: Address) => Promise<boolean>,
): Promise<KeyCheck> {
  if (trusted.has(sessionKey)) return { ok: false, status: 403, code: 'trusted_key', message: `${sessionKey} is a key the meta chain trusts; it cannot be a session key` };
  if (await inUse(sessionKey)) return { ok: false, status: 409, code: 'session_key_in_use', message: `${sessionKey} is already the key of a live session; make a fresh key` };
  if (typeof keySignature !== 'string' || !isHex(keySignature) || keySignature.length !== 132) {
    return { ok: false, status: 400, code: 'no_key_signature', message: 'key_signature must be the session key\'s signature of the message (65 bytes of 0x-hex)' };
  }
  let signer: string;
  try {
    signer = (await recoverMessageAddress({ message, signature: keySignature as Hex })).toLowerCase();
  } catch (e) {
    return { ok: false, status: 401, code: 'bad_key_signature', message: `key_signature does not recover: ${(e as Error).message.split('\n')[0]}` };
  }
  if (signer !== sessionKey) return { ok: false, status: 401, code: 'bad_key_signature', message: `key_signature is by ${signer}, not by the session key ${sessionKey}` };
  return { ok: true };
}
