import type { StoredVerdict } from '@blyan/data';
import { formatBytes } from '../ui/format.ts';

/** Every document's L0 verdict: kept (with what was redacted) or refused with its reason. */
export function VerdictList({ verdicts, testId }: { verdicts: readonly StoredVerdict[]; testId: string }) {
  const kept = verdicts.filter((v) => v.ok).length;
  return (
    <>
      <p className="status">{kept} of {verdicts.length} documents pass the prefilter</p>
      <ol className="verdicts" data-testid={testId}>
        {verdicts.map((v) => (
          <li key={v.index} className={v.ok ? 'ok' : 'no'} data-code={v.ok ? 'ok' : v.code}>
            <span>#{v.index + 1}</span>
            <span>{formatBytes(v.bytes)}</span>
            {v.ok ? (
              <span>kept{v.redacted.emails + v.redacted.phones > 0 && ` · redacted ${v.redacted.emails} e-mail, ${v.redacted.phones} phone`}</span>
            ) : (
              <span><b>{v.code}</b>: {v.message}</span>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}
