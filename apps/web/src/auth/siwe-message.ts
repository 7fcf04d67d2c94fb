import type { Address } from '@blyan/block';
import type { LoginChallenge } from '@blyan/client';
import { createSiweMessage } from 'viem/siwe';

/** How long a login (and with it the session key's delegation) lasts. */
const SESSION_MS = 8 * 3600_000;

/**
 * The EIP-4361 message that signs `account` in to the relay and delegates block signing to
 * `sessionKey` (its one `urn:blyan:session-key:` resource), built with viem's SIWE module and
 * parsed by the relay with `siwe`. The relay's challenge must be for this page's origin.
 */
export function loginMessage(c: LoginChallenge, account: Address, sessionKey: Address, origin: string, now: number): string {
  const page = new URL(origin);
  if (c.uri !== page.origin || c.domain !== page.host) {
    throw new Error(`the relay signs in ${c.uri}, not this page (${page.origin}): start it with --origin ${page.origin}`);
  }
  return createSiweMessage({
    domain: c.domain,
    address: account as `0x${string}`,
    statement: 'Sign in to Blyan and let this tab sign your contributions.',
    uri: c.uri,
    version: '1',
    chainId: c.chain_id,
    nonce: c.nonce,
    issuedAt: new Date(now),
    expirationTime: new Date(now + Math.min(SESSION_MS, c.max_session_ms)),
    resources: [`urn:blyan:session-key:${sessionKey}`],
  });
}
