/** Stable names shared by code, state machine definitions, logs and tests. Types derive from these maps. */

/** RDS global-failover event ids (RDS-EVENT-0181..0187, 0238, 0239, 0397). */
export const RdsEventId = {
  SwitchoverStarted: 'RDS-EVENT-0181',
  OldPrimaryShutDown: 'RDS-EVENT-0182',
  WaitingForSync: 'RDS-EVENT-0183',
  NewPrimaryPromoted: 'RDS-EVENT-0184',
  SwitchoverFinished: 'RDS-EVENT-0185',
  SwitchoverCancelled: 'RDS-EVENT-0186',
  SwitchoverFailed: 'RDS-EVENT-0187',
  FailoverCompleted: 'RDS-EVENT-0238',
  FailoverFailed: 'RDS-EVENT-0239',
  GlobalWriterEndpointUpdated: 'RDS-EVENT-0397',
} as const;
export type RdsEventId = (typeof RdsEventId)[keyof typeof RdsEventId];

/** Events that mean "the writer has moved": they start the reconcile workflow. */
export const TRIGGERING_EVENT_IDS: readonly RdsEventId[] = [RdsEventId.SwitchoverFinished, RdsEventId.FailoverCompleted];
/** Progress and failure events: recorded as metrics and log lines only. */
export const PROGRESS_EVENT_IDS: readonly RdsEventId[] = [
  RdsEventId.SwitchoverStarted,
  RdsEventId.OldPrimaryShutDown,
  RdsEventId.WaitingForSync,
  RdsEventId.NewPrimaryPromoted,
  RdsEventId.SwitchoverCancelled,
  RdsEventId.SwitchoverFailed,
  RdsEventId.FailoverFailed,
];

export const Trigger = { Event: 'event', Schedule: 'schedule', Manual: 'manual' } as const;
export type Trigger = (typeof Trigger)[keyof typeof Trigger];

export const ReloadStrategy = { Live: 'live', RolloutRestart: 'rollout-restart' } as const;
export type ReloadStrategy = (typeof ReloadStrategy)[keyof typeof ReloadStrategy];

export const TrafficPolicy = { None: 'none', FollowWriter: 'follow-writer', DrainUnhealthy: 'drain-unhealthy' } as const;
export type TrafficPolicy = (typeof TrafficPolicy)[keyof typeof TrafficPolicy];

export const AliasRole = { Write: 'write', Read: 'read' } as const;
export type AliasRole = (typeof AliasRole)[keyof typeof AliasRole];

/** Aurora global cluster member synchronization status that counts as healthy. */
export const SYNC_STATUS_CONNECTED = 'connected';

/** Decision of a pooler apply whose pods a restart cannot fix (a freshly started pod routes wrongly too). */
export const POOLER_NEEDS_OPERATOR = 'needs-operator';
