export * from './reference/index.ts';
export * from './tokenizer/index.ts';
