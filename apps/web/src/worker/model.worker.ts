import { BlockVerificationError, RelayClient, TrustError } from '@blyan/client';
import type { FromWorker, ToWorker } from '../protocol.ts';
import { BlockCache } from './block-cache.ts';
import { calibrate, needsCalibration, pickEngine } from './engine-choice.ts';
import { GpuRunner } from './gpu-runner.ts';
import { ModelSession } from './session.ts';

/** The model worker: every fetch, hash, cache read and forward pass happens here, off the page's thread. */
const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);

let session: Promise<{ model: ModelSession; cache: BlockCache }> | null = null;
let running: { id: number; stopped: boolean } | null = null;
let queue: Promise<void> = Promise.resolve();

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
    session = (async () => {
      const cache = await BlockCache.open(await cacheBudget(m.cacheLimitBytes));
      const gpu = m.backend === 'auto' || m.backend === 'webgpu' ? await openGpu() : null;
      const backend = gpu ? 'webgpu' : m.backend === 'cpu' ? 'cpu' : 'wasm';
      if (m.backend === 'wasm' || m.backend === 'cpu') post({ type: 'backend', backend, notice: null });
      return { cache, model: new ModelSession(new RelayClient(m.relay), m.pin, cache, post, backend, gpu, m.genesisHeaders) };
    })();
    queue = queue.then(async () => {
      try {
        const { model } = await session!;
        const { config } = (await model.sync()).payload;
        const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
        const doubt = m.backend === 'auto' ? await needsCalibration(gpu) : false;
        if (doubt) {
          post({ type: 'status', text: 'no hardware GPU: timing each engine on this device (a few seconds, once per visit)' });
          const choice = pickEngine(doubt.adapter, await calibrate(config, doubt.adapter === null ? undefined : gpu));
          model.useBackend(choice.backend, choice.notice);
        }
        post({ type: 'status', text: 'ready' });
      } catch (e) {
        report(null, e);
      }
    });
  } else if (m.type === 'prompt') {
    const run = { id: m.id, stopped: false };
    queue = queue.then(async () => {
      running = run;
      try {
        if (!session) throw new Error('the worker got a prompt before init');
        await (await session).model.answer(m, () => run.stopped);
      } catch (e) {
        report(m.id, e);
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
