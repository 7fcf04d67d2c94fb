/** One entry of a usage report: an expert block and how many tokens it computed. */
export interface UsageEntry {
  block: string;
  tokens: number;
}

/** What one report may hold: the relay takes 1 to 256 distinct blocks and at most `maxUsageTokens` tokens. */
export interface ReportLimits {
  maxTokens: number;
  maxEntries: number;
}

/** The relay's limits with its default `maxUsageTokens`. */
export const RELAY_LIMITS: ReportLimits = { maxTokens: 100_000, maxEntries: 256 };

/** The pending tally (block hash → tokens not yet reported) plus one answer's tokens. */
export function addTokens(pending: ReadonlyMap<string, number>, answer: Readonly<Record<string, number>>): Map<string, number> {
  const next = new Map(pending);
  for (const [block, n] of Object.entries(answer)) next.set(block, (next.get(block) ?? 0) + n);
  return next;
}

/** The pending tally less what a report carried. */
export function takeTokens(pending: ReadonlyMap<string, number>, sent: readonly UsageEntry[]): Map<string, number> {
  const next = new Map(pending);
  for (const { block, tokens } of sent) {
    const left = (next.get(block) ?? 0) - tokens;
    if (left > 0) next.set(block, left);
    else next.delete(block);
  }
  return next;
}

/**
 * The pending tally cut into reports the relay takes, in the tally's order: each with at most
 * `maxEntries` distinct blocks and `maxTokens` tokens; a block whose tokens do not fit continues
 * in the next report.
 */
export function splitReports(pending: ReadonlyMap<string, number>, limits: ReportLimits): UsageEntry[][] {
  const reports: UsageEntry[][] = [];
  let current: UsageEntry[] = [];
  let room = limits.maxTokens;
  for (let [block, left] of pending) {
    while (left > 0) {
      if (room === 0 || current.length === limits.maxEntries) {
        reports.push(current);
        current = [];
        room = limits.maxTokens;
      }
      const tokens = Math.min(left, room);
      current.push({ block, tokens });
      left -= tokens;
      room -= tokens;
    }
  }
  if (current.length > 0) reports.push(current);
  return reports;
}

/** Whose use a report states and for which relay: the signed-in account and the relay's sign-in origin. */
export interface ReportBinding {
  account: string;
  origin: string;
}

/** The report's JSON text, which the session key signs and the relay parses; it counts only for `bind`. */
export function reportText(experts: readonly UsageEntry[], createdAt: number, bind: ReportBinding): string {
  return JSON.stringify({ account: bind.account, origin: bind.origin, created_at: createdAt, experts });
}
