import { type Block, HeaderError, decodeBlock } from '@blyan/block';
import { ApiError } from './api-error.ts';

/** decodeBlock of a request body; a malformed one is 400 malformed_block. */
export function decodeWireBlock(body: Uint8Array): Block {
  try {
    return decodeBlock(body);
  } catch (e) {
    if (e instanceof HeaderError) throw new ApiError(400, 'malformed_block', e.message);
    throw e;
  }
}
