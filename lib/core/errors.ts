/**
 * Error classes by name. The names are exactly what the state machines' Retry/Catch `ErrorEquals`
 * lists use (a Lambda error's type is its `name`), so never rename one without the ASL.
 * Transient errors are retried with backoff by the state machine; fatal ones are caught and reported.
 */

export const TransientErrorName = {
  Throttled: 'ThrottledError',
  ServiceUnavailable: 'ServiceUnavailableError',
  Timeout: 'UpstreamTimeoutError',
  Conflict: 'ConflictError',
} as const;
export type TransientErrorName = (typeof TransientErrorName)[keyof typeof TransientErrorName];

export const FatalErrorName = {
  InvalidInput: 'InvalidInputError',
  InvalidConfig: 'InvalidConfigError',
  UnsafeValue: 'UnsafeValueError',
  TopologyUnstable: 'TopologyUnstableError',
  WriterNotVerified: 'WriterNotVerifiedError',
  StaleChange: 'StaleChangeError',
  TrafficPlanRefused: 'TrafficPlanRefusedError',
  TargetFailed: 'TargetFailedError',
  Upstream: 'UpstreamError',
} as const;
export type FatalErrorName = (typeof FatalErrorName)[keyof typeof FatalErrorName];

export const TRANSIENT_ERROR_NAMES: readonly TransientErrorName[] = Object.values(TransientErrorName);

abstract class FailoverError extends Error {
  abstract readonly transient: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

abstract class TransientError extends FailoverError {
  readonly transient = true;
}
abstract class FatalError extends FailoverError {
  readonly transient = false;
}

/** AWS or Kubernetes said "slow down" (ThrottlingException, HTTP 429). */
export class ThrottledError extends TransientError {
  override readonly name = TransientErrorName.Throttled;
}
/** An upstream answered 5xx or the connection broke. */
export class ServiceUnavailableError extends TransientError {
  override readonly name = TransientErrorName.ServiceUnavailable;
}
/** A call or a bounded wait inside one step ran out of time; the step may be tried again. */
export class UpstreamTimeoutError extends TransientError {
  override readonly name = TransientErrorName.Timeout;
}
/** A compare-and-set lost a race (Kubernetes 409) more times than the adapter retries by itself. */
export class ConflictError extends TransientError {
  override readonly name = TransientErrorName.Conflict;
}

/** Input to a handler or CLI (event, manual input, file) is malformed. */
export class InvalidInputError extends FatalError {
  override readonly name = FatalErrorName.InvalidInput;
}
/** The deployment's config file is invalid; the message names the field. */
export class InvalidConfigError extends FatalError {
  override readonly name = FatalErrorName.InvalidConfig;
}
/** A value would inject into a pooler config (newline, `;`, `#`, quotes, spaces, `%include`...). */
export class UnsafeValueError extends FatalError {
  override readonly name = FatalErrorName.UnsafeValue;
}
/** The global cluster did not settle (FailoverState, status, exactly one writer) within the bound. */
export class TopologyUnstableError extends FatalError {
  override readonly name = FatalErrorName.TopologyUnstable;
}
/** The writer the topology names is not a usable writer; routing writes there is refused. */
export class WriterNotVerifiedError extends FatalError {
  override readonly name = FatalErrorName.WriterNotVerified;
}
/** A change's `from` no longer matches the world (someone else changed it); re-observe and re-plan. */
export class StaleChangeError extends FatalError {
  override readonly name = FatalErrorName.StaleChange;
}
/** A traffic plan broke a safety rule (e.g. every region at zero). */
export class TrafficPlanRefusedError extends FatalError {
  override readonly name = FatalErrorName.TrafficPlanRefused;
}
/** One pooler target did not converge. */
export class TargetFailedError extends FatalError {
  override readonly name = FatalErrorName.TargetFailed;
}
/** An upstream refused the call for a reason retrying will not fix (4xx other than 409/429). */
export class UpstreamError extends FatalError {
  override readonly name = FatalErrorName.Upstream;
}

export function isTransient(error: unknown): boolean {
  return error instanceof FailoverError && error.transient;
}

/**
 * A call that got no usable answer: a network error, a timeout or a 5xx (ServiceUnavailableError,
 * UpstreamTimeoutError). This is what "the region (or its control plane) is down" looks like; throttling
 * is an answer ("slow down") and is retried, and fatal errors are never taken for an outage.
 */
export function isUnreachable(error: unknown): boolean {
  return error instanceof ServiceUnavailableError || error instanceof UpstreamTimeoutError;
}

/** The message of anything thrown, for logs and outputs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
