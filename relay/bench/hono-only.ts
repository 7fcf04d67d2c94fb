import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { relayRules } from '../src/config.ts';
import { openRelay } from '../src/relay.ts';
import { createApp } from '../src/server/app.ts';

/**
 * The relay's API as it was served before the payload fast path: every request through the Hono
 * app (`getRequestListener(createApp(…).fetch)`), on the store in argv[2], on an OS-chosen port.
 * Prints "listening on URL". bench:serving runs it beside `blyan serve` as the before.
 */
const relay = await openRelay(process.argv[2]!, relayRules());
const server = createServer(getRequestListener(createApp({ ...relay, maxPayloadBytes: 1 << 24 }).fetch));
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => void relay.close().then(() => process.exit(0))));
