/**
 * Whether the chat is generating an answer, for the training scheduler: the chat's model hook sets
 * it, the contribute hook forwards every change to its worker's gate.
 */
const listeners = new Set<(on: boolean) => void>();
let answering = false;

export function setAnswering(on: boolean): void {
  if (on === answering) return;
  answering = on;
  for (const l of listeners) l(on);
}

/** Calls `listener` now and on every change; returns the unsubscribe. */
export function watchAnswering(listener: (on: boolean) => void): () => void {
  listeners.add(listener);
  listener(answering);
  return () => listeners.delete(listener);
}
