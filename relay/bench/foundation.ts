/**
 * Foundation benchmark (not a test): Merkle hashing throughput on a 16 MiB payload (native
 * node:crypto, as @blyan/block uses on Node, against @noble/hashes, the browser path), block
 * validations per second on ~300 KB expert blocks, accepted submissions per second on the embedded
 * store, and payload serving over real HTTP on loopback with 32 concurrent clients.
 *
 *   pnpm exec tsx relay/bench/foundation.ts
 */
import { cpus } from 'node:os';
import { formatTable } from '../src/cli/table.ts';
import { hashing } from './hashing.ts';
import { CLIENTS, serving } from './serving.ts';
import { EXPERT_BYTES, N_BLOCKS, validation } from './validation.ts';

console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}\n`);
console.log('Hashing a 16 MiB payload (median of runs)');
console.log(formatTable(['operation', 'time', 'rate'], await hashing()));
console.log(`\nValidating ${N_BLOCKS} expert blocks of ${(EXPERT_BYTES / 1000).toFixed(0)} KB`);
console.log(formatTable(['operation', 'rate', 'per block'], await validation()));
const served = await serving();
console.log(`\nServing a ${(served.size / 1000).toFixed(0)} KB payload over HTTP on 127.0.0.1 (${CLIENTS} concurrent keep-alive clients, client in another process)`);
console.log(formatTable(['metric', 'value'], served.rows));
