/**
 * A nonce flood in its own process, so it does not slow the load run's download clients:
 * `tsx relay/bench/nonce-flood.ts URL CONNECTIONS UNTIL` posts /v1/auth/nonce as fast as it can
 * on CONNECTIONS keep-alive connections until UNTIL (ms since the epoch), then prints
 * `{ ok, limited, other }`. URL `control` floods a stub in this process that answers 429 at once
 * instead: the same CPU spent on flooding, none of it by the relay.
 */
import { once } from 'node:events';
import { type AddressInfo } from 'node:net';
import { Agent, createServer, request } from 'node:http';

const [target, connections, until] = process.argv.slice(2);
const stub = target === 'control' ? createServer((_req, res) => res.writeHead(429, { 'Retry-After': '60' }).end('{}')).listen(0, '127.0.0.1') : null;
if (stub !== null) await once(stub, 'listening');
const url = stub === null ? target! : `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });
const counts = { ok: 0, limited: 0, other: 0 };

const post = () =>
  new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/auth/nonce`, { agent, method: 'POST' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });

await Promise.all(
  Array.from({ length: Number(connections) }, async () => {
    while (Date.now() < Number(until)) {
      const status = await post();
      if (status === 200) counts.ok++;
      else if (status === 429) counts.limited++;
      else counts.other++;
    }
  }),
);
agent.destroy();
stub?.close();
console.log(JSON.stringify(counts));
