/**
 * Equality-based Kubernetes label selectors (`app=pgbouncer,tier!=canary`), parsed and matched the way
 * the API server matches them, so the adapter can re-check every listed pod before it execs into it or
 * evicts it. A selector made only of `!=` terms is refused: it also matches every pod that lacks the
 * label, i.e. unrelated workloads in the namespace.
 */

export interface LabelTerm {
  readonly key: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

const TERM = /^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/;

/** Why `selector` cannot be used to pick the pods we exec into and evict; null when it can. */
export function labelSelectorProblem(selector: string): string | null {
  const terms = selector.split(',');
  if (terms.some((term) => !TERM.test(term.trim()))) return `"${selector}" is not an equality-based label selector (key=value, key!=value, comma-separated)`;
  if (!parseTerms(selector).some((term) => term.operator === '=')) {
    return `"${selector}" has no key=value term: a selector made only of != terms also matches pods of other workloads`;
  }
  return null;
}

/**
 * @example
 * parseLabelSelector('app=pgbouncer,track!=canary'); // [{ key: 'app', operator: '=', value: 'pgbouncer' }, { key: 'track', operator: '!=', value: 'canary' }]
 */
export function parseLabelSelector(selector: string): LabelTerm[] {
  const problem = labelSelectorProblem(selector);
  if (problem) throw new TypeError(problem);
  return parseTerms(selector);
}

/** True when `labels` satisfy every term (a `!=` term is satisfied by a missing label, as in Kubernetes). */
export function matchesLabels(terms: readonly LabelTerm[], labels: Readonly<Record<string, string>>): boolean {
  return terms.every((term) => (term.operator === '=' ? labels[term.key] === term.value : labels[term.key] !== term.value));
}

function parseTerms(selector: string): LabelTerm[] {
  return selector.split(',').map((term) => {
    const [, key, operator, value] = TERM.exec(term.trim())!;
    return { key: key!, operator: operator === '!=' ? '!=' : '=', value: value ?? '' };
  });
}
