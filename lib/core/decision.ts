/**
 * Every step returns a decision and the reason for it (the decision log). Logged once at the edge,
 * returned in outputs, asserted in tests.
 */
export interface Decision {
  /** The step or component that decided, e.g. `verify-writer`, `pooler:use2-pgbouncer`. */
  readonly step: string;
  /** A short stable verb phrase, e.g. `proceed`, `nothing-to-do`, `wait`, `refuse`. */
  readonly decision: string;
  /** One sentence a person reads in the console: why. */
  readonly reason: string;
}

export function decide(step: string, decision: string, reason: string): Decision {
  return { step, decision, reason };
}
