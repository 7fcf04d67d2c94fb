export * from './block.ts';
export * from './header.ts';
export * from './hex.ts';
export * from './merkle.ts';
export * from './quant.ts';
export * from './signature.ts';
export * from './tensors.ts';
export * from './wire.ts';
