import { formatTable } from '../src/cli/table.ts';

/**
 * `pnpm bench:capacity`: what 10,000 and 1,000,000 daily users need in relays, evaluation workers,
 * database and bucket bandwidth, with and without a CDN in front, computed from the costs measured
 * in docs/BENCHMARKS.md (MEASURED) and the usage assumptions below (ASSUMED), each overridable
 * from the environment to redo the model with other figures.
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const MEASURED = {
  /** Expert bytes a cold first prompt downloads (browser benchmark, dynamic routing, genesis v1). */
  coldBytesPerUser: env('COLD_BYTES', 6_261_000),
  /** One expert block's payload (the browser benchmark's 196.9 KB). */
  payloadBytes: env('PAYLOAD_BYTES', 196_900),
  /** Payload GETs per relay CPU-second, the worst round of `pnpm bench:serving` (the fast path, from memory on either back-end). */
  payloadPerCpuSecond: env('PAYLOAD_PER_CPU_S', 1_613),
  /** Small JSON GETs (/health) per second from one relay process under 32 clients, an upper bound on their cost. */
  smallPerCpuSecond: env('SMALL_PER_CPU_S', 6_395),
  /** CPU-seconds of one evaluation (base and candidate on 32 hidden windows, ORT 1 thread): `pnpm bench:contribute`. */
  evaluationCpuSeconds: env('EVAL_CPU_S', 3.32),
  /** Bytes of the whole genesis model (every block a replica's or CDN's cache may hold). */
  modelBytes: env('MODEL_BYTES', 9_210_000),
};

const ASSUMED = {
  /** Share of a day's users arriving with an empty cache (first visit or a cleared one). */
  coldShare: env('COLD_SHARE', 0.5),
  /** Expert versions that change per day, which every warm user downloads again. */
  changedExpertsPerDay: env('CHANGED_EXPERTS', 4),
  /** Small immutable requests per visit: header, verdict and leaves of each of the 32 blocks fetched (a CDN serves these too). */
  immutableSmallPerVisit: env('IMMUTABLE_SMALL', 3 * 32),
  /** Small requests that must reach a relay: heads, params, health, history. */
  mutableSmallPerVisit: env('MUTABLE_SMALL', 4),
  /** Peak hour traffic over the daily mean. */
  peakFactor: env('PEAK_FACTOR', 3),
  /** Share of daily users who contribute, and evaluations each of them causes per day. */
  contributorShare: env('CONTRIBUTOR_SHARE', 0.05),
  evaluationsPerContributorPerDay: env('EVALS_PER_CONTRIBUTOR', 2),
  /** Database statements per mutable request (heads, params); immutable rows are cached in each replica. */
  statementsPerSmallRequest: env('STATEMENTS_PER_SMALL', 2),
  /** Statements per evaluation: queue, verdict, block append, ledger credit. */
  statementsPerEvaluation: env('STATEMENTS_PER_EVALUATION', 10),
  /** CPU headroom kept on every machine. */
  utilisation: env('UTILISATION', 0.6),
  /** CDN points of presence that each fetch the model, and each change, once from the relays. */
  cdnLocations: env('CDN_LOCATIONS', 50),
  /** Relay replicas (each with its own payload cache) pulling from the bucket. */
  replicasForBucket: env('REPLICAS', 3),
};

const DAY = 86_400;

function model(users: number) {
  const payloadBytesPerUser = ASSUMED.coldShare * MEASURED.coldBytesPerUser + (1 - ASSUMED.coldShare) * ASSUMED.changedExpertsPerDay * MEASURED.payloadBytes;
  const peak = (perDay: number) => (perDay / DAY) * ASSUMED.peakFactor;
  const payloadRps = peak((users * payloadBytesPerUser) / MEASURED.payloadBytes);
  const mutableRps = peak(users * ASSUMED.mutableSmallPerVisit);
  const smallRps = mutableRps + peak(users * ASSUMED.immutableSmallPerVisit);
  const relayCpu = payloadRps / MEASURED.payloadPerCpuSecond + smallRps / MEASURED.smallPerCpuSecond;
  const relayCpuWithCdn = mutableRps / MEASURED.smallPerCpuSecond;
  const evaluationsPerDay = users * ASSUMED.contributorShare * ASSUMED.evaluationsPerContributorPerDay;
  const workerCpu = peak(evaluationsPerDay * MEASURED.evaluationCpuSeconds);
  const egressGbps = (payloadRps * MEASURED.payloadBytes * 8) / 1e9;
  return {
    payloadRps,
    smallRps,
    relayCores: relayCpu / ASSUMED.utilisation,
    relayCoresWithCdn: relayCpuWithCdn / ASSUMED.utilisation,
    workerCores: workerCpu / ASSUMED.utilisation,
    evaluationsPerDay,
    dbStatementsPerSecond: mutableRps * ASSUMED.statementsPerSmallRequest + peak(evaluationsPerDay) * ASSUMED.statementsPerEvaluation,
    egressGbps,
    bucketBytesPerDay: ASSUMED.replicasForBucket * (MEASURED.modelBytes + ASSUMED.changedExpertsPerDay * MEASURED.payloadBytes),
    relayEgressWithCdnPerDay: ASSUMED.cdnLocations * (MEASURED.modelBytes + ASSUMED.changedExpertsPerDay * MEASURED.payloadBytes),
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cores = (n: number) => `${fmt(n, 2)}: ${Math.max(1, Math.ceil(n))} core(s)`;
const bytes = (n: number) => (n >= 1e9 ? `${fmt(n / 1e9, 1)} GB` : `${fmt(n / 1e6, 1)} MB`);

const users = [10_000, 1_000_000];
const results = users.map(model);
const row = (what: string, f: (r: ReturnType<typeof model>) => string) => [what, ...results.map(f)];

console.log('MEASURED', MEASURED);
console.log('ASSUMED', ASSUMED);
console.log(
  formatTable(['at the peak hour', ...users.map((u) => `${fmt(u)} daily users`)], [
    row('payload GETs/s', (r) => fmt(r.payloadRps, 1)),
    row('small GETs/s (heads, params, headers, leaves)', (r) => fmt(r.smallRps, 1)),
    row('relay cores, no CDN', (r) => cores(r.relayCores)),
    row('relay cores, CDN in front (only heads and params reach a relay)', (r) => cores(r.relayCoresWithCdn)),
    row('relay egress, no CDN (Gbit/s)', (r) => fmt(r.egressGbps, 2)),
    row('evaluations per day', (r) => fmt(r.evaluationsPerDay)),
    row('evaluation worker cores', (r) => cores(r.workerCores)),
    row('database statements/s', (r) => fmt(r.dbStatementsPerSecond)),
    row('bucket egress per day (replica caches filling; the CDN pulls from relays)', (r) => bytes(r.bucketBytesPerDay)),
    row('relay egress per day to the CDN', (r) => bytes(r.relayEgressWithCdnPerDay)),
  ]),
);
