import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, the built app and the committed genesis checkpoints (canonical v2, and v1 for comparison), for the e2e tests and the bench scripts. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DIST = join(ROOT, 'apps/web/dist');
export const GENESIS_CHECKPOINT = join(ROOT, 'public/genesis-v2/checkpoint.tensors');
export const GENESIS_V1_CHECKPOINT = join(ROOT, 'public/genesis/checkpoint.tensors');
