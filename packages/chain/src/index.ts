export * from './memory.ts';
export * from './rules.ts';
