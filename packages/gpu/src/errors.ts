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
