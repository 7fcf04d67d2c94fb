/**
 * A change to some tensors of one expert, kept sparse and int8: the `indices` (ascending, unique,
 * each < `size`) of the changed elements and their values `values[i] · scale`. Every other
 * element is unchanged.
 */
export interface SparseTensorDelta {
  readonly name: string;
  /** Element count of the tensor the delta applies to. */
  readonly size: number;
  readonly indices: Uint32Array;
  /** In [-127, 127]. */
  readonly values: Int8Array;
  /** Finite and > 0 (an f32). */
  readonly scale: number;
}

/** An expert update against a base block: at least one tensor, names unique. */
export interface ExpertDelta {
  readonly tensors: readonly SparseTensorDelta[];
}

export type DeltaErrorCode = 'malformed_delta' | 'non_finite_delta' | 'delta_mismatch';

/** A delta that cannot be decoded, built or applied; `code` says which. */
export class DeltaError extends Error {
  override name = 'DeltaError';

  constructor(
    readonly code: DeltaErrorCode,
    message: string,
  ) {
    super(message);
  }
}
