import { BYTE_TOKENS, type Merge, MergeRanks, validateMerges } from './merges.ts';
import { chunks } from './pretokenize.ts';
import { END_OF_TEXT, TOKENIZER_FORMAT, type TokenizerJSON, parseTokenizerJSON } from './serialize.ts';
import { utf8Decode, utf8Encoder, utf8Segments } from './utf8.ts';

/** Chunk encodings kept per tokenizer; the oldest is evicted past this many. */
const CACHE_LIMIT = 1 << 16;

/**
 * Byte-level BPE: ids 0..255 are bytes, 256 + i is merge i, and the last id is `<|endoftext|>`.
 * Text is split into chunks (see pretokenize.ts) and merges apply within a chunk's UTF-8 bytes,
 * so any byte sequence encodes and decodes back to itself.
 */
export class Tokenizer {
  readonly merges: readonly Merge[];
  /** Id of `<|endoftext|>`, the document separator. */
  readonly endOfTextId: number;
  readonly vocabSize: number;
  private readonly ranks: MergeRanks;
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, readonly number[]>();

  constructor(merges: readonly Merge[]) {
    validateMerges(merges);
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.ranks = new MergeRanks(this.merges);
    this.endOfTextId = BYTE_TOKENS + merges.length;
    this.vocabSize = this.endOfTextId + 1;
    this.tokenBytes = Array.from({ length: BYTE_TOKENS }, (_, b) => Uint8Array.of(b));
    for (const [a, b] of this.merges) {
      const left = this.tokenBytes[a]!;
      const right = this.tokenBytes[b]!;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      this.tokenBytes.push(joined);
    }
    this.tokenBytes.push(utf8Encoder.encode(END_OF_TEXT));
  }

  static fromJSON(x: unknown): Tokenizer {
    return new Tokenizer(parseTokenizerJSON(x).merges);
  }

  toJSON(): TokenizerJSON {
    return {
      format: TOKENIZER_FORMAT,
      merges: this.merges.map(([a, b]) => [a, b]),
      special: { [END_OF_TEXT]: this.endOfTextId },
    };
  }

  /**
   * Encodes text as plain text: `<|endoftext|>` inside it is ordinary characters, never the
   * special id. A lone surrogate encodes as U+FFFD, as TextEncoder does.
   */
  encode(text: string): number[] {
    const out: number[] = [];
    this.encodeText(text, out);
    return out;
  }

  /** Encodes arbitrary bytes; a byte that starts no well-formed UTF-8 sequence is its own token. */
  encodeBytes(bytes: Uint8Array): number[] {
    const out: number[] = [];
    for (const segment of utf8Segments(bytes)) {
      if ('byte' in segment) out.push(segment.byte);
      else this.encodeText(segment.text, out);
    }
    return out;
  }

  /** Encodes each document followed by `<|endoftext|>`. */
  encodeDocuments(texts: Iterable<string>): number[] {
    const out: number[] = [];
    for (const text of texts) {
      this.encodeText(text, out);
      out.push(this.endOfTextId);
    }
    return out;
  }

  /** The bytes the ids stand for; `<|endoftext|>` stands for its own spelling. */
  decodeBytes(ids: Iterable<number>): Uint8Array {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const bytes = this.tokenBytes[id];
      if (bytes === undefined) {
        throw new RangeError(`token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
      }
      parts.push(bytes);
      length += bytes.length;
    }
    const out = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Ill-formed UTF-8 in the decoded bytes becomes U+FFFD; use `StreamDecoder` for token-by-token output. */
  decode(ids: Iterable<number>): string {
    return utf8Decode(this.decodeBytes(ids));
  }

  private encodeText(text: string, out: number[]): void {
    for (const chunk of chunks(text)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.ranks.apply(utf8Encoder.encode(chunk));
        if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
  }
}
