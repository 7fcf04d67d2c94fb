import { joinDocuments } from '@blyan/data';
import { privateKeyToAccount } from 'viem/accounts';
import { relayRules, evaluatorKey, storeDir } from '../config.ts';
import { defaultAccountsConfig } from '../contributions/config.ts';
import { corpusDocs } from '../corpus.ts';
import { checkUpload, storeUpload } from '../data/intake.ts';
import { SPAM_ASSASSIN, spamAssassinTexts } from '../data/seed-corpus.ts';
import { DEFAULT_ORIGIN, openRelay } from '../relay.ts';
import { type Log, STORE_OPTION, UsageError, backendsFrom, intOption, parse } from './args.ts';

/** Messages per upload: each upload is one version of the dataset (and at least one block). */
const PER_UPLOAD = 250;

/**
 * `blyan seed-data`: puts `--limit` messages of the SpamAssassin corpus through L0 and L1 in a
 * stopped relay's store (or, with --database and --objects and before any `blyan worker` runs, the
 * replicas' shared database and bucket, through the same data hub store they use) as the
 * operator's own uploads of dataset `spam-assassin`, and appends them to chain D with the relay's
 * evaluator verdict. The operator's seed skips L2 (there are no reviewers yet); its uploader is the
 * evaluator key. Prints each upload's L0 refusals by reason.
 */
export async function seedData(args: string[], log: Log): Promise<number> {
  const { values } = parse(args, { ...STORE_OPTION, limit: { type: 'string' }, 'evaluator-key': { type: 'string' } });
  const limit = intOption(values.limit, 'limit', 500, 1, 6046);
  const dir = storeDir(values.store);
  const key = await evaluatorKey(dir, values['evaluator-key']);
  if (key === null) throw new UsageError('seed-data needs the evaluator key the meta head names (--evaluator-key FILE, $BLYAN_EVALUATOR_KEY or <store>/evaluator.key)');
  const relay = await openRelay(dir, relayRules(), defaultAccountsConfig(DEFAULT_ORIGIN, corpusDocs), privateKeyToAccount(key.key), backendsFrom(values));
  try {
    if ((await relay.index.metaHead()) === null) throw new UsageError(`store ${dir} has no chain yet: start it once with blyan serve`);
    const { store, worker, secret, config } = relay.accounts.data;
    const texts = spamAssassinTexts(limit);
    const uploader = key.address.toLowerCase() as `0x${string}`;
    for (let at = 0; at < texts.length; at += PER_UPLOAD) {
      const body = new TextEncoder().encode(joinDocuments(texts.slice(at, at + PER_UPLOAD)));
      const intake = await checkUpload(store, secret, config, body);
      const refused = new Map<string, number>();
      for (const v of intake.verdicts) if (!v.ok) refused.set(v.code, (refused.get(v.code) ?? 0) + 1);
      const why = [...refused].map(([c, n]) => `${n} ${c}`).join(', ') || 'none';
      if (!intake.ok) {
        log(`messages ${at}–${at + PER_UPLOAD - 1}: every document refused (${why})`);
        continue;
      }
      const id = await storeUpload(store, SPAM_ASSASSIN, uploader, body, intake, Date.now());
      worker.enqueue(id);
      await worker.drain();
      await store.setStatus(id, 'appending', 'seeded by the relay operator: no L2 review', null);
      worker.enqueue(id);
      await worker.drain();
      const u = (await store.get(id))!;
      log(`upload ${id}: ${intake.docs.length} of ${intake.verdicts.length} documents kept (refused: ${why}); ${u.status}${u.detail ? ` (${u.detail})` : ''}, ${u.blocks.length} block(s)`);
    }
    return 0;
  } finally {
    await relay.close();
  }
}
