import type { Hash } from '@blyan/block';

/**
 * Payload bytes by SHA-256 (the header's `payload_hash`). Objects are immutable: a put of a hash
 * that is already stored is a no-op. Ranges are [start, end) byte offsets; both default to the
 * whole object. An S3-compatible bucket fits this shape as well as a directory does.
 */
export interface ObjectStore {
  /** Resolves once the bytes are durable and readable under `hash`. */
  put(hash: Hash, bytes: Uint8Array): Promise<void>;
  has(hash: Hash): Promise<boolean>;
  /** Byte size, or undefined when the object is absent. */
  size(hash: Hash): Promise<number | undefined>;
  read(hash: Hash, start?: number, end?: number): Promise<Uint8Array<ArrayBuffer>>;
  stream(hash: Hash, start?: number, end?: number): Promise<ReadableStream<Uint8Array>>;
  /** Deletes every object no block refers to, and any half-written upload; returns the hashes deleted. */
  removeOrphans(isReferenced: (hash: Hash) => Promise<boolean>): Promise<Hash[]>;
}
