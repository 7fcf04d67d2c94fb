import { AccountsClient, RelayClient, RelayError } from '@blyan/client';
import { requestGpuDevice } from '@blyan/gpu';
import { privateKeyToAccount } from 'viem/accounts';
import { TrainingGate } from './gate.ts';
import type { FromContributor, ToContributor } from './protocol.ts';
import { type RoundContext, contributeRound } from './round.ts';

/**
 * The contribute worker: trains assigned experts in rounds while the gate lets it. The page tells
 * it when an answer is being generated and when the tab is hidden; the gate is asked before every
 * micro-step, so inference never waits for more than the micro-step in flight.
 */
const scope = self as unknown as { postMessage(m: FromContributor): void; onmessage: ((e: MessageEvent<ToContributor>) => void) | null };
const post = (m: FromContributor) => scope.postMessage(m);
const gate = new TrainingGate((reason) => post({ type: 'paused', reason }));
let running: Promise<void> | null = null;
let device: Promise<GPUDevice | null> | null = null;

/** This browser's WebGPU device, or null with a notice that training falls back to the CPU reference. */
function gpuDevice(): Promise<GPUDevice | null> {
  device ??= requestGpuDevice((navigator as Navigator & { gpu?: GPU }).gpu).then(
    (d) => {
      post({ type: 'backend', backend: 'webgpu', notice: null });
      return d;
    },
    (e: unknown) => {
      post({ type: 'backend', backend: 'cpu', notice: `No WebGPU here (${(e as Error).message}): training runs on the CPU reference, far more slowly.` });
      return null;
    },
  );
  return device;
}

async function run(ctx: Omit<RoundContext, 'device' | 'model'>): Promise<void> {
  const full: RoundContext = { ...ctx, device: await gpuDevice(), model: null };
  for (let round = 0; gate.paused !== 'off'; round++) {
    try {
      if (!(await contributeRound(full, round))) break;
    } catch (e) {
      post({ type: 'error', message: (e as Error).message });
      if (e instanceof RelayError && (e.status === 401 || e.status === 403)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  post({ type: 'stopped' });
}

scope.onmessage = ({ data: m }) => {
  if (m.type === 'start') {
    gate.set({ on: true, pauseWhenHidden: m.settings.pauseWhenHidden });
    running ??= run({
      relay: new RelayClient(m.relay),
      pin: m.pin,
      genesisHeaders: m.genesisHeaders,
      accounts: new AccountsClient(m.relay),
      signer: privateKeyToAccount(m.sessionKey),
      account: m.account,
      settings: m.settings,
      gate,
      post,
    }).finally(() => (running = null));
  } else if (m.type === 'stop') {
    gate.set({ on: false });
  } else if (m.type === 'answering') {
    gate.set({ answering: m.on });
  } else if (m.type === 'visibility') {
    gate.set({ hidden: m.hidden, pauseWhenHidden: m.pauseWhenHidden });
  }
};
