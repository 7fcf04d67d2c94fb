import { existsSync } from 'node:fs';
import { requestGpuDevice } from './device.ts';
import { GpuUnavailableError } from './errors.ts';

/** Software Vulkan drivers: a GPU-less machine can still run WebGPU. */
export type SoftwareDriver = 'swiftshader' | 'lavapipe';

interface Driver {
  /** Where its Vulkan ICD manifest may be, first found wins. */
  readonly icds: readonly string[];
  /** The start of the adapter name Dawn reports, for its `adapter=` option. */
  readonly adapter: string;
  readonly install: string;
}

const DRIVERS: Record<SoftwareDriver, Driver> = {
  /** Debian's chromium package ships SwiftShader (no shader-f16). */
  swiftshader: { icds: ['/usr/lib/chromium/vk_swiftshader_icd.json'], adapter: 'SwiftShader', install: 'apt-get install chromium' },
  /**
   * Mesa's lavapipe (adapter "llvmpipe") has shader-f16; Dawn takes Mesa 25 (Debian
   * bookworm-backports) and refuses Debian 12's own Mesa 22.
   */
  lavapipe: {
    icds: ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'],
    adapter: 'llvmpipe',
    install: 'add bookworm-backports and apt-get install -t bookworm-backports mesa-vulkan-drivers, as .ci/run does',
  },
};

const icdOf = (driver: SoftwareDriver): string | undefined => DRIVERS[driver].icds.find((path) => existsSync(path));

/**
 * A WebGPU device in Node through Dawn (the `webgpu` package). When VK_ICD_FILENAMES is unset it
 * is pointed at every installed software driver, and the device comes from `driver` (default
 * SwiftShader when installed). When the caller set VK_ICD_FILENAMES (a real GPU's driver, say), the
 * device comes from the adapter Dawn prefers there, or from `driver` if one is named. Throws
 * GpuUnavailableError when no adapter comes up, naming how to install a missing driver.
 */
export async function nodeGpuDevice(driver?: SoftwareDriver): Promise<GPUDevice> {
  if (process.env.VK_ICD_FILENAMES === undefined) {
    const icds = (Object.keys(DRIVERS) as SoftwareDriver[]).map(icdOf).filter((p) => p !== undefined);
    if (icds.length > 0) {
      process.env.VK_ICD_FILENAMES = icds.join(':');
      icdsSetHere = true;
    }
  }
  if (driver && icdsSetHere && !icdOf(driver)) throw new GpuUnavailableError(`the ${driver} Vulkan driver is not installed (no ${DRIVERS[driver].icds.join(' or ')}): ${DRIVERS[driver].install}`);
  const chosen = driver ?? (icdsSetHere && icdOf('swiftshader') ? 'swiftshader' : undefined);
  const gpu = await dawn(chosen ? DRIVERS[chosen].adapter : '');
  return requestGpuDevice(gpu);
}

/** Whether VK_ICD_FILENAMES was set by nodeGpuDevice (to the installed software drivers). */
let icdsSetHere = false;

/**
 * One Dawn instance per adapter filter, alive as long as the process: when a GPU object is
 * garbage-collected while its devices are still in use, Dawn's threads crash the process
 * (futex / mutex aborts).
 */
const instances = new Map<string, GPU>();

async function dawn(adapter: string): Promise<GPU> {
  let gpu = instances.get(adapter);
  if (!gpu) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    try {
      gpu = create(adapter ? [`adapter=${adapter}`] : []);
    } catch (e) {
      throw new GpuUnavailableError(`Dawn has no adapter named ${adapter}: ${(e as Error).message}`);
    }
    instances.set(adapter, gpu);
  }
  return gpu;
}
