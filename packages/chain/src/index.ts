export * from './authority.ts';
export * from './memory.ts';
export * from './rules.ts';
export * from './verdict.ts';
