import { joinDocuments } from '../src/split.ts';

const enc = new TextEncoder();
export const bytesOf = (s: string) => enc.encode(s);

/** Plain prose, distinct per seed, long enough for every L0 bound. */
export function prose(seed: number, sentences = 6): string {
  const nouns = ['river', 'lantern', 'harbour', 'orchard', 'meadow', 'compass', 'archive', 'furnace', 'glacier', 'village', 'market', 'bridge'];
  const verbs = ['carries', 'follows', 'remembers', 'shelters', 'measures', 'outlasts', 'answers', 'gathers'];
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const n = (k: number) => nouns[(seed * 7 + i * 3 + k * 5) % nouns.length];
    out.push(`The ${n(0)} ${verbs[(seed + i) % verbs.length]} the ${n(1)} near the ${n(2)} number ${seed * 31 + i}.`);
  }
  return out.join(' ');
}

export const uploadOf = (docs: readonly string[]) => bytesOf(joinDocuments(docs));
