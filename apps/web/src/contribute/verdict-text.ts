import type { SubmissionView } from './protocol.ts';

/** A submission's verdict for a person: what happened, and what would help next time. */
export interface PlainVerdict {
  tone: 'waiting' | 'good' | 'bad';
  headline: string;
  advice: string | null;
}

const pct = (part: number, of: number): string => `${((100 * part) / of).toFixed(3)} %`;

/**
 * The relay's verdict in plain words. `minImprovement` is the drop in held-out loss (nats/token)
 * the relay requires, `steps` the micro-steps per submission the user set.
 */
export function plainVerdict(s: SubmissionView, minImprovement: number | null, steps: number): PlainVerdict {
  switch (s.state) {
    case 'submitting':
      return { tone: 'waiting', headline: 'Sending your update to the relay…', advice: null };
    case 'queued':
    case 'appending':
      return { tone: 'waiting', headline: 'The relay is testing your update on text the model never trained on…', advice: null };
    case 'accepted': {
      const better = s.figures ? ` (it got ${pct(s.figures.improvement, s.figures.baseline)} better at predicting held-out text)` : '';
      return { tone: 'good', headline: `Kept: your update improved this expert${better}. You earned ${s.credit ?? 0} credit${s.credit === 1 ? '' : 's'}.`, advice: null };
    }
    case 'rejected':
      return rejected(s, minImprovement, steps);
  }
}

function rejected(s: SubmissionView, minImprovement: number | null, steps: number): PlainVerdict {
  switch (s.code) {
    case 'no_improvement': {
      const need = minImprovement === null ? 'a set margin' : `${minImprovement} nats/token`;
      const got = s.figures ? `; yours changed it by ${(s.figures.baseline - s.figures.candidate).toFixed(5)}` : '';
      return {
        tone: 'bad',
        headline: `Not kept: your update did not make the expert better enough. It must lower the loss on held-out text by at least ${need}${got}.`,
        advice: `What helps: more micro-steps per submission (now ${steps}), so each update learns more before it is judged. Nothing was credited and nothing is lost.`,
      };
    }
    case 'stale_base':
      return { tone: 'bad', headline: 'Not kept: someone else’s update to this expert was accepted first, and yours was made for the older version.', advice: 'Nothing to change on your side: the next round starts from the new version.' };
    case 'evaluation_failed':
      return { tone: 'bad', headline: 'Not judged: the relay could not evaluate your update.', advice: 'Nothing to change on your side: the next round tries again.' };
    case 'append_refused':
      return { tone: 'bad', headline: 'Not kept: the relay refused to store your update.', advice: 'The figures below say why; if it repeats, the relay may run a newer version than this page (reload).' };
    default:
      return { tone: 'bad', headline: 'Not kept.', advice: null };
  }
}
