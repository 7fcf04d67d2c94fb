import type { Address } from '@blyan/block';
import { SiweMessage } from 'siwe';
import { type Hex, isHex, recoverMessageAddress } from 'viem';

/** What a login message must say to be for this relay. */
export interface SiweExpectations {
  /** RFC 3986 authority of the web app, e.g. `localhost:5173`. */
  readonly domain: string;
  /** Origin the message's URI must start with, e.g. `http://localhost:5173`. */
  readonly uri: string;
  readonly chainId: number;
  /** Longest session (expiration − issued-at) a login may ask for. */
  readonly maxSessionMs: number;
  /** How old an issued-at may be (the nonce lifetime), and how far ahead of the clock. */
  readonly maxAgeMs: number;
  readonly clockSkewMs: number;
}

export const SESSION_KEY_URN = 'urn:blyan:session-key:';
const SESSION_KEY_RE = /^urn:blyan:session-key:(0x[0-9a-fA-F]{40})$/;

export type LoginCheck =
  | { ok: true; account: Address; sessionKey: Address; nonce: string; issuedAt: number; expiresAt: number }
  | { ok: false; status: 400 | 401; code: string; message: string };

const refuse = (status: 400 | 401, code: string, message: string): LoginCheck => ({ ok: false, status, code, message });

function parse(message: string): SiweMessage | string {
  try {
    return new SiweMessage(message);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function time(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Checks an EIP-4361 message and its EIP-191 signature, everything but the nonce's single use (the
 * caller spends it after this passes): the message parses, is for this domain, URI and chain,
 * version 1, issued recently and not in the future, not before its not-before, unexpired, asks
 * for at most `maxSessionMs`, names exactly one session key, and is signed by its address.
 */
export async function checkSiweLogin(message: string, signature: string, want: SiweExpectations, now: number): Promise<LoginCheck> {
  const m = parse(message);
  if (typeof m === 'string') return refuse(400, 'malformed_message', `not an EIP-4361 message: ${m}`);
  if (m.domain !== want.domain) return refuse(401, 'wrong_domain', `message is for ${m.domain}, this relay signs in ${want.domain}`);
  if (m.uri !== want.uri && !m.uri.startsWith(`${want.uri}/`)) return refuse(401, 'wrong_uri', `message URI ${m.uri} is not under ${want.uri}`);
  if (m.chainId !== want.chainId) return refuse(401, 'wrong_chain', `message is for chain ${m.chainId}, this relay uses chain ${want.chainId}`);
  if (m.version !== '1') return refuse(400, 'malformed_message', `version must be 1, got ${m.version}`);
  const issuedAt = time(m.issuedAt);
  const expiresAt = time(m.expirationTime);
  const notBefore = time(m.notBefore);
  if (issuedAt === undefined) return refuse(400, 'malformed_message', 'Issued At is missing or not a date');
  if (expiresAt === undefined) return refuse(400, 'no_expiration', 'a login must state an Expiration Time: it bounds the session-key delegation');
  if (issuedAt > now + want.clockSkewMs) return refuse(401, 'issued_in_future', `message is issued at ${m.issuedAt}, after now`);
  if (issuedAt < now - want.maxAgeMs) return refuse(401, 'message_too_old', `message was issued at ${m.issuedAt}, over ${want.maxAgeMs / 1000} s ago`);
  if (expiresAt <= now) return refuse(401, 'expired_message', `message expired at ${m.expirationTime}`);
  if (notBefore !== undefined && notBefore > now + want.clockSkewMs) return refuse(401, 'not_yet_valid', `message is valid from ${m.notBefore}`);
  if (expiresAt - issuedAt > want.maxSessionMs) {
    return refuse(400, 'session_too_long', `a session may last at most ${want.maxSessionMs / 1000} s`);
  }
  const keys = (m.resources ?? []).map((r) => SESSION_KEY_RE.exec(r)?.[1]).filter((k) => k !== undefined);
  if (keys.length !== 1) return refuse(400, 'no_session_key', `resources must hold exactly one ${SESSION_KEY_URN}0x<address>, found ${keys.length}`);
  if (!isHex(signature) || signature.length !== 132) return refuse(400, 'malformed_signature', 'signature must be 65 bytes of 0x-hex');
  let signer: string;
  try {
    signer = await recoverMessageAddress({ message, signature: signature as Hex });
  } catch (e) {
    return refuse(401, 'bad_signature', `signature does not recover: ${(e as Error).message.split('\n')[0]}`);
  }
  const account = m.address.toLowerCase() as Address;
  if (signer.toLowerCase() !== account) return refuse(401, 'bad_signature', `message is signed by ${signer.toLowerCase()}, not by ${account}`);
  const sessionKey = keys[0]!.toLowerCase() as Address;
  if (sessionKey === account) return refuse(400, 'no_session_key', 'the session key must differ from the account');
  return { ok: true, account, sessionKey, nonce: m.nonce, issuedAt, expiresAt };
}
