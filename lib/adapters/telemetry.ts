/**
 * Structured logs and CloudWatch metrics for every handler: a Powertools Logger and Metrics pair,
 * the conversion of the core's MetricDatum values into EMF, and a middy wrapper that gives each
 * invocation a correlation id.
 */
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_UNITS, METRICS_NAMESPACE, type MetricDatum } from '../core/metrics.ts';

export const SERVICE_NAME = 'aurora-global-failover';

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * @example
 * const telemetry = createTelemetry();
 * telemetry.logger.info('decided', { decision });
 * emitMetrics(telemetry, [{ name: MetricName.IgnoredEvents, value: 1 }]);
 */
export function createTelemetry(options: { readonly serviceName?: string; readonly namespace?: string } = {}): Telemetry {
  const serviceName = options.serviceName ?? SERVICE_NAME;
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ serviceName, namespace: options.namespace ?? METRICS_NAMESPACE }),
  };
}

/**
 * Writes every datum as its own EMF document right away, so each keeps exactly its own dimensions
 * and nothing is lost if the invocation fails afterwards.
 */
export function emitMetrics(telemetry: Telemetry, data: readonly MetricDatum[]): void {
  for (const datum of data) {
    const single = telemetry.metrics.singleMetric();
    for (const [dimension, value] of Object.entries(datum.dimensions ?? {})) {
      if (value !== undefined) single.addDimension(dimension, value);
    }
    single.addMetric(datum.name, METRIC_UNITS[datum.name], datum.value);
  }
}

/**
 * The id that ties one invocation's log lines to its trigger: an explicit `correlationId` in the
 * input (workflow steps pass the execution name), else the EventBridge event id, else the Lambda
 * request id.
 */
export function correlationIdOf(event: unknown, context: Pick<Context, 'awsRequestId'>): string {
  if (event && typeof event === 'object') {
    const fields = event as { correlationId?: unknown; id?: unknown };
    if (typeof fields.correlationId === 'string' && fields.correlationId) return fields.correlationId;
    if (typeof fields.id === 'string' && fields.id) return fields.id;
  }
  return context.awsRequestId;
}

function correlationIdMiddleware<TEvent>(logger: Logger): MiddlewareObj<TEvent> {
  return {
    before: (request) => {
      logger.setCorrelationId(correlationIdOf(request.event, request.context));
    },
  };
}

/**
 * Wraps a handler: Lambda context and correlation id on every log line (keys reset per invocation).
 *
 * @example
 * export const handler = withTelemetry(async (event) => ({ ok: true }), createTelemetry());
 */
export function withTelemetry<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  telemetry: Telemetry,
): MiddyfiedHandler<TEvent, TResult> {
  return middy<TEvent, TResult>(handler)
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(correlationIdMiddleware<TEvent>(telemetry.logger));
}
