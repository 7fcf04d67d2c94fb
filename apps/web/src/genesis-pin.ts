import { type Hash, isHash } from '@blyan/block';

/**
 * The genesis meta block hash this build trusts: genesis.json, written by the build next to the
 * page and read from the page's own origin, never from the relay it talks to (a relay cannot
 * choose which model the page believes in).
 */
export async function genesisPin(): Promise<Hash> {
  const url = new URL('genesis.json', document.baseURI);
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`this build has no genesis pin (${url} answered ${res.status}), so it cannot tell the real model from another: no relay is trusted`);
  const { meta } = (await res.json()) as { meta?: unknown };
  if (!isHash(meta)) throw new Error(`${url} names no genesis meta block hash (got ${JSON.stringify(meta)}): no relay is trusted`);
  return meta;
}
