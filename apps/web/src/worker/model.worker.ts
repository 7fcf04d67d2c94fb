import { BlockVerificationError, RelayClient, TrustError } from '@blyan/client';
import type { FromWorker, ToWorker } from '../protocol.ts';
import { BlockCache } from './block-cache.ts';
import { calibrate, calibrationKey, needsCalibration, pickEngine, rememberedChoice, type RememberedCalibration } from './engine-choice.ts';
import { GpuRunner } from './gpu-runner.ts';
import { Outbox } from './outbox.ts';
import { PhaseClock } from './phase-clock.ts';
import { ModelSession } from './session.ts';

/** The model worker: every fetch, hash, cache read and forward pass happens here, off the page's thread. */
const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const outbox = new Outbox((m) => scope.postMessage(m));
const post = (m: FromWorker) => outbox.send(m);

let session: Promise<{ model: ModelSession; cache: BlockCache; gpu: GpuRunner | null }> | null = null;
let running: { id: number; stopped: boolean } | null = null;
let queue: Promise<void> = Promise.resolve();

/** How long after the start, with no prompt yet, its blocks are written to IndexedDB. */
const IDLE_FLUSH_MS = 3000;
let idleFlush: ReturnType<typeof setTimeout> | undefined;
/**
 * How long after the start, with no prompt yet, the engine's pipelines begin to compile: a
 * prompt sent sooner (typed while the page loaded) gets its first token (the CPU's) without
 * sharing the processor with the compile, and its answer compiles them after that token.
 */
const IDLE_COMPILE_MS = 1000;
let idleCompile: ReturnType<typeof setTimeout> | undefined;

/** Where the engine calibration is kept (the block cache's state store). */
const CALIBRATION_KEY = 'engine-calibration';
/** The engine's version: this worker bundle's address, content-hashed in a build. */
const ENGINE_VERSION = self.location.pathname;

/** The user's cache limit, kept under 80% of what the browser grants this origin (evicting starts there). */
async function cacheBudget(limit: number): Promise<number> {
  const { quota } = (await navigator.storage?.estimate?.()) ?? {};
  return quota === undefined ? limit : Math.min(limit, Math.floor(quota * 0.8));
}

/** The WebGPU runner, or null with a notice saying why onnxruntime-web (wasm) runs instead. */
async function openGpu(): Promise<GpuRunner | null> {
  try {
    const gpu = await GpuRunner.open();
    post({ type: 'backend', backend: 'webgpu', notice: null });
    return gpu;
  } catch (e) {
    post({ type: 'backend', backend: 'wasm', notice: `No WebGPU here (${(e as Error).message}): the model runs on onnxruntime-web (wasm) in a worker, more slowly.` });
    return null;
  }
}

function report(id: number | null, e: unknown): void {
  if (e instanceof TrustError) return post({ type: 'refused', reason: e.reason, message: e.message });
  const block = e instanceof BlockVerificationError ? e.block : null;
  post({ type: 'error', id, message: (e as Error).message ?? String(e), block });
}

scope.onmessage = ({ data: m }) => {
  if (m.type === 'init') {
    const started = performance.now();
    const startup = new PhaseClock();
    session = (async () => {
      const cache = await startup.time('IndexedDB open', async () => BlockCache.open(await cacheBudget(m.cacheLimitBytes)));
      const gpu = m.backend === 'auto' || m.backend === 'webgpu' ? await startup.time('GPU device', openGpu) : null;
      const backend = gpu ? 'webgpu' : m.backend === 'cpu' ? 'cpu' : 'wasm';
      if (m.backend === 'wasm' || m.backend === 'cpu') post({ type: 'backend', backend, notice: null });
      const model = new ModelSession(new RelayClient(m.relay), m.pin, cache, post, backend, gpu, m.genesisHeaders);
      model.clock = startup;
      return { cache, model, gpu };
    })();
    queue = queue.then(async () => {
      try {
        const { model, cache, gpu } = await session!;
        // On a software adapter (or none) the engine is measured once per adapter, engine version and network, and remembered.
        const doubt = m.backend === 'auto' ? needsCalibration(gpu?.device ?? null) : false;
        const key = doubt ? calibrationKey(gpu?.device.adapterInfo ?? null, ENGINE_VERSION, m.pin) : null;
        const remembered = key === null ? null : rememberedChoice(await cache.getState(CALIBRATION_KEY), key);
        if (remembered) model.useBackend(remembered.backend, remembered.notice);
        const { config } = (await model.sync()).payload;
        if (doubt && key !== null && !remembered) {
          post({ type: 'status', text: 'no hardware GPU: timing each engine on this device (a few seconds, once)' });
          const speeds = await startup.time('engine calibration', () => calibrate(config, gpu?.device ?? null));
          const choice = pickEngine(doubt.adapter, speeds);
          model.useBackend(choice.backend, choice.notice);
          await cache.setState(CALIBRATION_KEY, { key, adapter: doubt.adapter, speeds } satisfies RememberedCalibration);
        }
        post({ type: 'started', ms: performance.now() - started, parts: startup.totals(), pipelines: model.pipelines() });
        post({ type: 'status', text: 'ready' });
        // The engine's pipelines compile after Send is enabled: an answer's first token does not need them (GpuRunner).
        idleCompile = setTimeout(() => model.compileWhileIdle(), IDLE_COMPILE_MS);
        // The start's blocks are written once the page has waited a moment for a prompt (one
        // transaction), or with the first prompt's, so that the write never slows its first token.
        idleFlush = setTimeout(() => cache.flush().catch((e: unknown) => report(null, e)), IDLE_FLUSH_MS);
      } catch (e) {
        report(null, e);
      }
    });
  } else if (m.type === 'prompt') {
    clearTimeout(idleFlush);
    clearTimeout(idleCompile);
    const run = { id: m.id, stopped: false };
    queue = queue.then(async () => {
      running = run;
      try {
        if (!session) throw new Error('the worker got a prompt before init');
        await (await session).model.answer(m, () => run.stopped);
      } catch (e) {
        report(m.id, e);
        // What a failed answer cached before failing is written too (an answer that ends writes its own).
        await session?.then(({ cache }) => cache.flush()).catch((x: unknown) => report(null, x));
      } finally {
        running = null;
        post({ type: 'status', text: 'ready' });
      }
    });
  } else if (m.type === 'stop') {
    if (running?.id === m.id) running.stopped = true;
  } else if (m.type === 'clear-cache') {
    queue = queue.then(async () => {
      if (!session) return;
      const { cache } = await session;
      await cache.clear();
      post({ type: 'cache', bytes: 0, blocks: 0 });
    });
  }
};
