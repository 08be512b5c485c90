/**
 * Metric names, units and dimensions (CloudWatch EMF via Powertools Metrics, namespace
 * `AuroraGlobalFailover`). The README's metrics table is generated from the same facts; keep them together.
 * Powertools adds the dimension `service`; the intake's metrics carry `GlobalClusterId` (and `EventId` or
 * `Trigger`), the workflow's carry `Trigger` or `Target` as listed in the README's metrics table.
 */
export const METRICS_NAMESPACE = 'AuroraGlobalFailover';

export const MetricName = {
  /** An RDS event that means the writer moved (0185, 0238) was received for our global cluster. */
  FailoversDetected: 'FailoversDetected',
  /** A progress/failure event (0181-0184, 0186, 0187, 0239) or 0397 was received; dimension EventId. */
  FailoverProgressEvents: 'FailoverProgressEvents',
  /** An event could not be parsed or validated; nothing was started. */
  MalformedEvents: 'MalformedEvents',
  /** An event for another global cluster was ignored. */
  IgnoredEvents: 'IgnoredEvents',
  /** Reconcile executions started by the intake (duplicates excluded). */
  ReconcileStarted: 'ReconcileStarted',
  /** From the first observation to a verified, stable writer. */
  WriterVerificationTime: 'WriterVerificationTime',
  /** One pooler target's apply (patch + reload/restart + verify); dimension Target. */
  TargetRepointTime: 'TargetRepointTime',
  /** Pooler targets that failed to converge in a run; dimension Target on the per-target datum. */
  TargetsFailed: 'TargetsFailed',
  /** A pooler target whose pods a restart cannot fix (a fresh pod routes wrongly too); dimension Target. Alarm on > 0. */
  PoolerNeedsOperator: 'PoolerNeedsOperator',
  /** Time to apply the traffic plan (incl. Route 53 INSYNC). */
  TrafficShiftTime: 'TrafficShiftTime',
  /**
   * Traffic systems (Global Accelerator, Route 53) whose control plane did not answer in ShiftTraffic, so
   * their weights were not moved; 0 when every one answered. Emitted by every run whose policy is not none.
   */
  TrafficDegraded: 'TrafficDegraded',
  /** From the RDS event's timestamp (or the run's start) to the report. */
  EndToEndTime: 'EndToEndTime',
  /** Changes applied by a run not started by an event (schedule or manual): drift that was repaired. */
  DriftRepaired: 'DriftRepaired',
  /** Changes applied by any run. */
  ChangesApplied: 'ChangesApplied',
  /** A reconcile or switchover run failed. */
  RunsFailed: 'RunsFailed',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const MetricUnitName = { Count: 'Count', Milliseconds: 'Milliseconds' } as const;
export type MetricUnitName = (typeof MetricUnitName)[keyof typeof MetricUnitName];

export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnitName>> = {
  FailoversDetected: 'Count',
  FailoverProgressEvents: 'Count',
  MalformedEvents: 'Count',
  IgnoredEvents: 'Count',
  ReconcileStarted: 'Count',
  WriterVerificationTime: 'Milliseconds',
  TargetRepointTime: 'Milliseconds',
  TargetsFailed: 'Count',
  PoolerNeedsOperator: 'Count',
  TrafficShiftTime: 'Milliseconds',
  TrafficDegraded: 'Count',
  EndToEndTime: 'Milliseconds',
  DriftRepaired: 'Count',
  ChangesApplied: 'Count',
  RunsFailed: 'Count',
};

export const MetricDimension = { GlobalClusterId: 'GlobalClusterId', Target: 'Target', EventId: 'EventId', Trigger: 'Trigger' } as const;
export type MetricDimension = (typeof MetricDimension)[keyof typeof MetricDimension];

/** One metric datum as the core produces it; the telemetry adapter turns these into EMF. */
export interface MetricDatum {
  readonly name: MetricName;
  readonly value: number;
  readonly dimensions?: Readonly<Partial<Record<MetricDimension, string>>>;
}
