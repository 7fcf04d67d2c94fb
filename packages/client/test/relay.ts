import type { Block, Hash } from '@blyan/block';
import { blockHash } from '@blyan/block';
import { type Fixture, fixture, paramBlock, submit } from '../../../relay/test/helpers.ts';
import { type Fetch, RelayClient } from '../src/index.ts';

export const BASE = 'http://relay.test';

/** Rewrites a response on its way from the relay to the client, or passes it through. */
export type Tamper = (path: string, res: Response) => Response | Promise<Response>;

export interface TestRelay {
  f: Fixture;
  /** A block of 5 full 4 KiB tiles and a short one, replacing layer1.expert2's genesis version. */
  big: Block;
  bigHash: Hash;
  /** Paths the client asked for, in order. */
  requests: string[];
  client(tamper?: Tamper): RelayClient;
  close(): Promise<void>;
}

export const BIG_SIZE = 5 * 4096 + 1234;

/** A real relay (the relay's Hono app over an embedded store on a temp dir), reached in-process. */
export async function testRelay(): Promise<TestRelay> {
  const f = await fixture();
  const prev = f.genesis.find((b) => b.header.name === 'layer1.expert2')!;
  const big = await paramBlock({ meta: f.meta, name: 'layer1.expert2', prev, seed: 7, size: BIG_SIZE, tileSize: 4096 });
  const res = await submit(f.app, big);
  if (res.status !== 201) throw new Error(`submitting the test block failed: ${await res.text()}`);
  const requests: string[] = [];
  return {
    f,
    big,
    bigHash: blockHash(big.header),
    requests,
    client(tamper = (_, r) => r) {
      const fetchImpl: Fetch = async (url, init) => {
        const path = new URL(url).pathname;
        requests.push(path);
        return tamper(path, await f.app.request(url, init));
      };
      return new RelayClient(BASE, fetchImpl);
    },
    close: () => f.close(),
  };
}

/** A response with `edit` applied to the body bytes, headers kept. */
export async function editBody(res: Response, edit: (bytes: Uint8Array) => Uint8Array): Promise<Response> {
  const bytes = edit(new Uint8Array(await res.arrayBuffer()));
  const headers = new Headers(res.headers);
  headers.set('Content-Length', String(bytes.length));
  return new Response(bytes as Uint8Array<ArrayBuffer>, { status: res.status, headers });
}

export const flipByte = (at: number) => (bytes: Uint8Array) => {
  const copy = bytes.slice();
  copy[at]! ^= 0xff;
  return copy;
};
