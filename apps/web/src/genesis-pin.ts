import { type Hash, isHash } from '@blyan/block';

/** The genesis this build trusts: the meta block hash and, where the build shipped them, the signed genesis headers (meta first). */
export interface GenesisPin {
  pin: Hash;
  /** As trusted as the pin (same file, same origin), yet still hashed against it by Lineage before use; absent: walks verify genesis from the relay. */
  headers?: unknown[];
}

/**
 * The genesis this build trusts: genesis.json, written by the build next to the page and read
 * from the page's own origin, never from the relay it talks to (a relay cannot choose which model
 * the page believes in).
 */
export async function genesisPin(): Promise<GenesisPin> {
  const url = new URL('genesis.json', document.baseURI);
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`this build has no genesis pin (${url} answered ${res.status}), so it cannot tell the real model from another: no relay is trusted`);
  const { meta, headers } = (await res.json()) as { meta?: unknown; headers?: unknown };
  if (!isHash(meta)) throw new Error(`${url} names no genesis meta block hash (got ${JSON.stringify(meta)}): no relay is trusted`);
  return Array.isArray(headers) ? { pin: meta, headers } : { pin: meta };
}
