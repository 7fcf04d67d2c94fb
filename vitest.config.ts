import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The relay's store suites run once per store back-end: `embedded` (SQLite + files, with every other
 * test) and `postgres+s3` (a throwaway PostgreSQL cluster and an s3rver, started by
 * relay/test/global-setup.ts; these tests fail, never skip, when the servers cannot start).
 * Relay suites that stay embedded-only, and why (docs/ARCHITECTURE.md, "Which suites run where"):
 * - accounts-db: upgrades an accounts.sqlite of schema 1; PostgreSQL has no older schema (re-running its migrations is pg-s3-store's).
 * - attacks/store-lock: races processes for the store folder's SQLite lock file, whatever the back-end; replicas on PostgreSQL share a store by design.
 * - window-losses: ONNX arithmetic against the CPU reference; it opens no store.
 * - window-nats, dataset-slots, replay: arithmetic, slot choice and the replay share; they open no store.
 * - usage-settlement: the once-per-period wrapper around any UsageStore (it counts calls into the SQLite one); the stores' own settlement runs in rewards and attacks/usage-credit on both.
 */
const BACKEND_SUITES = [
  'store',
  'routes',
  'payload-serving',
  'versions',
  'submit',
  'replicas',
  'pg-s3-store',
  'pg-accounts',
  'fault',
  'attacks/chain-writes',
  'attacks/verdicts',
  'auth',
  'contribute',
  'resume',
  'attacks/contribution-intake',
  'attacks/credit-and-sign-in',
  'attacks/hidden-evaluation',
  'attacks/proof-of-learning',
  'genesis',
  'attacks/genesis',
  'grow',
  'crash',
  'cli',
  'round-store',
  'rounds',
  'round-replicas',
  'data-hub',
  'rewards',
  'attacks/data-review',
  'attacks/data-upload',
  'attacks/dataset-writes',
  'attacks/usage-credit',
  'replicas-data',
  'pg-data',
  'data-seed',
  'dataset-rounds',
].map((name) => `relay/test/${name}.test.ts`);

/** GPU tests on software adapters compile pipelines cold and share two cores: a generous timeout. */
export default defineConfig({
  test: {
    testTimeout: 90_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'embedded',
          include: ['packages/*/test/**/*.test.ts', 'relay/test/**/*.test.ts', 'apps/web/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'relay/test/replicas.test.ts', 'relay/test/pg-s3-store.test.ts', 'relay/test/pg-accounts.test.ts', 'relay/test/fault.test.ts', 'relay/test/round-replicas.test.ts', 'relay/test/replicas-data.test.ts', 'relay/test/pg-data.test.ts'],
          provide: { backend: 'embedded' },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres+s3',
          include: BACKEND_SUITES,
          globalSetup: ['relay/test/global-setup.ts'],
          provide: { backend: 'postgres+s3' },
        },
      },
    ],
  },
});
