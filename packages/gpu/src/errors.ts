/**
 * Errors that tell a caller to fall back to the CPU reference: no usable WebGPU (no API, no adapter,
 * missing limits), or a device that was lost while in use.
 */
export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';

  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`the WebGPU device was lost (${reason}${detail ? `: ${detail}` : ''}); fall back to the CPU reference or create a new engine`);
  }
}

/**
 * Runs `f` with the device's out-of-memory and validation errors caught (error scopes around it):
 * running out of memory is a GpuUnavailableError, a validation error an Error naming `what`.
 */
export async function checked<T>(device: GPUDevice, what: string, f: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await f() };
  } catch (error) {
    outcome = { error };
  }
  const [validation, memory] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
  if (memory) throw new GpuUnavailableError(`the GPU ran out of memory ${what}: ${memory.message}`);
  if (validation) throw new Error(`${what} failed: ${validation.message}`);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
