export * from './reference/index.ts';
export * from './tokenizer/index.ts';
export { GENESIS_CONFIG, denseBaseline } from './train/genesis-config.ts';
