export { BYTE_TOKENS, type Merge } from './merges.ts';
export { END_OF_TEXT, TOKENIZER_FORMAT, type TokenizerJSON } from './serialize.ts';
export { StreamDecoder } from './stream.ts';
export { Tokenizer } from './tokenizer.ts';
export { trainTokenizer } from './train.ts';
