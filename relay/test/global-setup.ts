import type { TestProject } from 'vitest/node';
import { startPostgres, startS3 } from './servers.ts';

/**
 * The real servers the postgres+s3 test project runs against (relay/test/servers.ts), started once
 * per run and thrown away after. Nothing is skipped: if either cannot start, the run fails here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pg = await startPostgres();
  const s3 = await startS3().catch((e) => {
    pg.stop();
    throw e;
  });
  project.provide('pgUrl', pg.url);
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    await s3.stop();
    pg.stop();
  };
}
