import {
  ConflictError,
  InvalidConfigError,
  InvalidInputError,
  ServiceUnavailableError,
  StaleChangeError,
  ThrottledError,
  TopologyUnstableError,
  TrafficPlanRefusedError,
  UnsafeValueError,
  UpstreamError,
  UpstreamTimeoutError,
  WriterNotVerifiedError,
  TargetFailedError,
} from '../core/errors.ts';

// Route 53 answers PriorRequestNotComplete while an earlier change to the zone is still being applied;
// Global Accelerator answers TransactionInProgressException while another update of the accelerator runs.
// SNS answers KMSThrottlingException when the topic's KMS key is throttled (a topic with a customer key).
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'TransactionInProgressException',
  'KMSThrottlingException',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'RequestTimeoutException']);
const SERVER_NAMES = new Set(['InternalFailure', 'InternalServerError', 'InternalServiceError', 'InternalServiceErrorException', 'ServiceUnavailable', 'ServiceUnavailableException']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

const OWN_ERRORS = [
  ThrottledError,
  ServiceUnavailableError,
  UpstreamTimeoutError,
  ConflictError,
  InvalidInputError,
  InvalidConfigError,
  UnsafeValueError,
  TopologyUnstableError,
  WriterNotVerifiedError,
  StaleChangeError,
  TrafficPlanRefusedError,
  TargetFailedError,
  UpstreamError,
];

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/**
 * Maps an AWS SDK v3 error to the project's error classes, so the state machine retries exactly the
 * transient ones: throttling -> ThrottledError; 5xx and broken connections -> ServiceUnavailableError;
 * SDK/abort timeouts -> UpstreamTimeoutError; anything else -> UpstreamError (fatal).
 * The message names `what` (e.g. `rds:DescribeGlobalClusters in us-east-2`) and the SDK error name;
 * anything that looks like a credential is redacted from the SDK's message.
 *
 * @example
 * try { await client.send(command) } catch (error) { throw toFailoverError(error, 'rds:SwitchoverGlobalCluster in us-east-2') }
 */
export function toFailoverError(error: unknown, what: string): Error {
  if (OWN_ERRORS.some((known) => error instanceof known)) return error as Error;
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
  const name = typeof shape.name === 'string' && shape.name ? shape.name : 'Error';
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const rawMessage = typeof shape.message === 'string' ? shape.message : typeof error === 'string' ? error : '';
  const status = typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  const detail = `${what} failed: ${name}${code && code !== name ? ` (${code})` : ''}${rawMessage ? `: ${redact(rawMessage)}` : ''}`;
  const options = { cause: error };

  if (THROTTLING_NAMES.has(name) || status === 429 || isThrottlingRetryable(shape.$retryable)) return new ThrottledError(detail, options);
  if (TIMEOUT_NAMES.has(name)) return new UpstreamTimeoutError(detail, options);
  if (
    (status !== undefined && status >= 500) ||
    shape.$fault === 'server' ||
    SERVER_NAMES.has(name) ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    NETWORK_CODES.has(name) ||
    /socket hang up/i.test(rawMessage) ||
    (typeof shape.$retryable === 'object' && shape.$retryable !== null)
  ) {
    return new ServiceUnavailableError(detail, options);
  }
  return new UpstreamError(detail, options);
}

/** The SDK's name for an error (e.g. `GlobalClusterNotFoundFault`), for callers that branch on one. */
export function sdkErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as SdkErrorShape).name;
  return typeof name === 'string' ? name : undefined;
}

function isThrottlingRetryable(retryable: unknown): boolean {
  return typeof retryable === 'object' && retryable !== null && (retryable as { throttling?: unknown }).throttling === true;
}

// Access key ids, presigned-URL signatures/tokens and long base64 runs (secret keys, session tokens).
const SECRET_PATTERNS: readonly RegExp[] = [
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/g,
  /(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s"']+/gi,
  /[A-Za-z0-9+/=]{40,}/g,
];

function redact(message: string): string {
  let text = message;
  for (const pattern of SECRET_PATTERNS) text = text.replace(pattern, (match, prefix?: unknown) => (typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[redacted]` : '[redacted]'));
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
