import type { UnitView } from './protocol.ts';

/** A work unit's outcome for a person: what happened to the round and to this browser's delta, and what comes next. */
export interface PlainVerdict {
  tone: 'waiting' | 'good' | 'bad';
  headline: string;
  advice: string | null;
}

const NEXT = 'This browser goes on with the next work unit.';

/** What became of this browser's own delta in a judged round. */
function ownPart(u: UnitView): string {
  switch (u.own?.status) {
    case 'kept':
      return `Your delta was kept in the average (it lowered the loss on its sample by ${(u.own.improvement ?? 0).toFixed(4)} nats/token)`;
    case 'hurt':
      return 'Your delta was dropped: on its own it did not surely lower the loss on its sample by the margin the relay asks for';
    case 'copy':
      return 'Your delta was dropped as a copy of another one';
    default:
      return 'Your delta was not judged';
  }
}

/** Why a round was not kept, in plain words, from the relay's reason code. */
function roundReason(reason: string | null): string {
  const code = reason?.split(':')[0];
  switch (code) {
    case 'no_improvement':
      return 'the averaged update did not make the expert surely better on held-out text';
    case 'genesis_worse':
      return 'the averaged update helped the new data but made the model worse on its original text than allowed';
    case 'all_dropped':
      return 'no delta in it lowered the loss on its own sample';
    case 'stale_base':
      return 'another update to this expert was accepted first';
    case 'stale_dataset':
      return 'the dataset gained a new version while the round was open';
    case 'no_deltas':
      return 'nobody sent a delta in time';
    default:
      return 'the relay did not keep it';
  }
}

/** The round's verdict and this browser's part in it, in plain words. */
export function plainVerdict(u: UnitView): PlainVerdict {
  switch (u.state) {
    case 'training':
      return { tone: 'waiting', headline: `Training ${u.slot} for round ${u.round}…`, advice: null };
    case 'submitting':
      return { tone: 'waiting', headline: 'Sending your delta to the round…', advice: null };
    case 'waiting': {
      const i = u.info;
      const count = i === null ? '' : ` (${i.deltas} of ${i.contributors} deltas in)`;
      return { tone: 'waiting', headline: `Waiting for round ${u.round} to be judged${count}: it is judged when every work unit is in, or when its time is up.`, advice: null };
    }
    case 'unsent':
      return { tone: 'bad', headline: `Not sent: round ${u.round} closed before your delta arrived.`, advice: NEXT };
    case 'accepted': {
      const credit = u.own?.credit ?? 0;
      return {
        tone: 'good',
        headline: `Round ${u.round} was kept: the averaged update improved ${u.slot} on held-out text by ${(u.info?.improvement ?? 0).toFixed(5)} nats/token. ${ownPart(u)}; you earned ${credit} credit${credit === 1 ? '' : 's'}.`,
        advice: null,
      };
    }
    case 'rejected':
      return { tone: 'bad', headline: `Round ${u.round} was not kept: ${roundReason(u.info?.reason ?? null)}. ${ownPart(u)}. Nothing was credited.`, advice: NEXT };
  }
}
