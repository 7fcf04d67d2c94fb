import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Rewrites the body of a relay answer before the browser sees it. */
export type Tamper = (path: string, body: Buffer) => Buffer;

/** A slow link between the browser and the relay: answers share `bytesPerSecond` one after another, each after `latencyMs`. */
export interface Link {
  bytesPerSecond: number;
  latencyMs: number;
}

export interface RelayProxy {
  url: string;
  /** Every path the browser asked the relay for, in order. */
  log: string[];
  tamper: Tamper | null;
  /** Stops answering (connections refused), as a relay that went away. */
  close(): Promise<void>;
}

/**
 * The relay as the browser sees it: forwards to the real relay, logs every request path (the
 * network log the tests check), can tamper with answers and, given a `link`, delivers them as a
 * link of that bandwidth and latency would.
 */
export async function relayProxy(target: string, port = 0, link: Link | null = null): Promise<RelayProxy> {
  const proxy: RelayProxy = { url: '', log: [], tamper: null, close: async () => {} };
  let linkFreeAt = 0;
  const delivered = async (bytes: number) => {
    if (!link) return;
    const start = Math.max(Date.now() + link.latencyMs, linkFreeAt);
    linkFreeAt = start + (1000 * bytes) / link.bytesPerSecond;
    await new Promise((resolve) => setTimeout(resolve, linkFreeAt - Date.now()));
  };
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'OPTIONS') proxy.log.push(path);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers.set(k, v);
    try {
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(chunks.length > 0 && { body: Buffer.concat(chunks) }) });
      let body: Buffer = Buffer.from(await upstream.arrayBuffer());
      if (proxy.tamper) body = proxy.tamper(path, body);
      const out: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== 'content-encoding' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
      });
      out['content-length'] = String(body.length);
      await delivered(body.length);
      res.writeHead(upstream.status, out).end(body);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
