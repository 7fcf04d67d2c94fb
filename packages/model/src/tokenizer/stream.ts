import type { Tokenizer } from './tokenizer.ts';
import { newUtf8Decoder } from './utf8.ts';

/**
 * Decodes tokens one at a time, as a model emits them. A token may end inside a UTF-8
 * character; its leading bytes are held back until the character completes, so each `push`
 * returns only whole characters and the pieces concatenate to `tokenizer.decode(allIds)`.
 */
export class StreamDecoder {
  private readonly decoder = newUtf8Decoder();

  constructor(private readonly tokenizer: Tokenizer) {}

  push(id: number): string {
    return this.decoder.decode(this.tokenizer.decodeBytes([id]), { stream: true });
  }

  /** Ends the stream: bytes of an unfinished character come out as U+FFFD. */
  flush(): string {
    return this.decoder.decode();
  }
}
