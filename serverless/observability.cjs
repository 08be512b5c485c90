'use strict';
/**
 * The stack's CloudWatch dashboard and alarms (`resources: - ${file(serverless/observability.cjs)}`).
 * docs/aws.md describes the dashboard panel by panel and what each alarm means.
 *
 * Metric names are those of lib/core/metrics.ts (namespace AuroraGlobalFailover, EMF written by
 * lib/adapters/telemetry.ts, which adds the dimension `service`), plus AWS's own: AWS/RDS
 * AuroraGlobalDBRPOLag, AWS/States execution counts, AWS/Lambda invocations. The packaging test checks
 * that every custom metric named here is one the code emits.
 *
 * Alarm actions go to notifications.snsTopicArn when that topic is in this stack's region (CloudWatch
 * alarms notify topics of their own region); otherwise the alarms only change state (see docs/aws.md).
 */
const { functionsByHandlerKey } = require('./definitions.cjs');

/** lib/core/metrics.ts METRICS_NAMESPACE and lib/adapters/telemetry.ts SERVICE_NAME (checked by the packaging test). */
const NAMESPACE = 'AuroraGlobalFailover';
const SERVICE_DIMENSION = { Name: 'service', Value: 'aurora-global-failover' };
/** lib/core/constants.ts Trigger. */
const TRIGGERS = ['event', 'schedule', 'manual'];
/** The longest period whose 3 evaluation periods stay within CloudWatch's one-day evaluation range. */
const MAX_STALE_PERIOD_SECONDS = 28_800;

/** Alarm on the first occurrence: a sum of at least 1 in one evaluation period; no data is no occurrence. */
const ON_ANY_IN_ONE_PERIOD = { ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' };

function sub(template) {
  return { 'Fn::Sub': template };
}

/** The alarms, by logical id. */
function alarms(scope) {
  const common = (name, description) => ({
    AlarmName: `${scope.prefix}-${name}`,
    AlarmDescription: `${description} (serverless/observability.cjs; docs/aws.md)`,
    ActionsEnabled: true,
    AlarmActions: scope.alarmTopicArns,
    OKActions: scope.alarmTopicArns,
  });
  const custom = (id, metricName, dimensions) => ({
    Id: id,
    MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: metricName, Dimensions: [SERVICE_DIMENSION, ...dimensions] }, Period: 60, Stat: 'Sum' },
    ReturnData: false,
  });
  const states = (id, metricName, stateMachineLogicalId, period) => ({
    Id: id,
    MetricStat: { Metric: { Namespace: 'AWS/States', MetricName: metricName, Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineLogicalId } }] }, Period: period, Stat: 'Sum' },
    ReturnData: false,
  });
  const resources = {
    RunsFailedAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common('runs-failed', 'A reconcile or switchover run failed (RunsFailed, any trigger); its notification and logs name the error'),
        Metrics: [
          ...TRIGGERS.map((trigger, index) => custom(`t${index}`, 'RunsFailed', [{ Name: 'Trigger', Value: trigger }])),
          { Id: 'failed', Expression: TRIGGERS.map((_, index) => `FILL(t${index}, 0)`).join(' + '), Label: 'RunsFailed (all triggers)', ReturnData: true },
        ],
        ...ON_ANY_IN_ONE_PERIOD,
      },
    },
    TargetsFailedAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common('targets-failed', 'A run left at least one PgBouncer target unconverged (TargetsFailed); the per-Target metric and the run summary name it'),
        Namespace: NAMESPACE,
        MetricName: 'TargetsFailed',
        Dimensions: [SERVICE_DIMENSION],
        Statistic: 'Sum',
        Period: 60,
        ...ON_ANY_IN_ONE_PERIOD,
      },
    },
    PauseBudgetSpentAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common(
          'pause-budget-spent',
          `Write aliases stayed paused for the whole pause budget (${scope.pauseBudgetSeconds} s): the switchover ran ResumePoolersEarly, whose function runs only then`,
        ),
        Namespace: 'AWS/Lambda',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'FunctionName', Value: scope.resumeEarlyFunctionName }],
        Statistic: 'Sum',
        Period: 60,
        ...ON_ANY_IN_ONE_PERIOD,
      },
    },
    RpoLagAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common(
          'rpo-lag',
          `AuroraGlobalDBRPOLag of ${scope.dbClusterIdentifier} (this region's member, while a secondary) above alarms.maxRpoLagMs = ${scope.maxRpoLagMs} ms for 3 minutes: a failover now could lose that much`,
        ),
        Namespace: 'AWS/RDS',
        MetricName: 'AuroraGlobalDBRPOLag',
        Dimensions: [{ Name: 'DBClusterIdentifier', Value: scope.dbClusterIdentifier }],
        Statistic: 'Maximum',
        Period: 60,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: scope.maxRpoLagMs,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        // The primary publishes no lag: no data is the normal state of the writer's region.
        TreatMissingData: 'notBreaching',
      },
    },
    SwitchoverEndedBadlyAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common('switchover-ended-badly', 'A switchover execution failed, timed out or was stopped (a stopped one runs no ReportFailure)'),
        Metrics: [
          states('f', 'ExecutionsFailed', 'SwitchoverStateMachine', 60),
          states('t', 'ExecutionsTimedOut', 'SwitchoverStateMachine', 60),
          states('a', 'ExecutionsAborted', 'SwitchoverStateMachine', 60),
          { Id: 'ended', Expression: 'FILL(f, 0) + FILL(t, 0) + FILL(a, 0)', Label: 'switchover executions failed, timed out or aborted', ReturnData: true },
        ],
        ...ON_ANY_IN_ONE_PERIOD,
      },
    },
  };
  if (scope.scheduleSeconds > 0) {
    const period = Math.min(scope.scheduleSeconds, MAX_STALE_PERIOD_SECONDS);
    resources.ReconcileStaleAlarm = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common(
          'reconcile-stale',
          `No reconcile execution succeeded in 3 consecutive schedule periods (${period} s each): scheduled repair is not happening`,
        ),
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsSucceeded',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'ReconcileStateMachine' } }],
        Statistic: 'Sum',
        Period: period,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        // No execution at all is the failure this alarm exists for.
        TreatMissingData: 'breaching',
      },
    };
  }
  return resources;
}

/** The dashboard body (a JSON string with ${AWS::Region} and state machine ARNs for Fn::Sub). */
function dashboardBody(scope, alarmNames) {
  const region = '${AWS::Region}';
  const widget = (x, y, width, height, title, properties) => ({ type: 'metric', x, y, width, height, properties: { title, region, view: 'timeSeries', period: 300, ...properties } });
  let searchId = 0;
  const searchOf = (expression, stat, label) => {
    searchId += 1;
    return [{ expression: `SEARCH('${expression}', '${stat}', 300)`, label, id: `q${searchId}` }];
  };
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown: `## ${scope.prefix} in ${region}\nAurora global cluster **${scope.globalClusterId}**; this region's member **${scope.dbClusterIdentifier}**. Runs, targets, timings and replication lag of this regional stack (docs/aws.md explains every panel).`,
      },
    },
    { type: 'alarm', x: 0, y: 2, width: 24, height: 3, properties: { title: 'Alarms', alarms: alarmNames.map((name) => `arn:aws:cloudwatch:${region}:\${AWS::AccountId}:alarm:${name}`) } },
    widget(0, 5, 12, 6, 'Workflow executions (reconcile, switchover)', {
      stat: 'Sum',
      metrics: [
        ['AWS/States', 'ExecutionsSucceeded', 'StateMachineArn', '${ReconcileStateMachine}', { label: 'reconcile succeeded' }],
        ['AWS/States', 'ExecutionsFailed', 'StateMachineArn', '${ReconcileStateMachine}', { label: 'reconcile failed' }],
        ['AWS/States', 'ExecutionsSucceeded', 'StateMachineArn', '${SwitchoverStateMachine}', { label: 'switchover succeeded' }],
        ['AWS/States', 'ExecutionsFailed', 'StateMachineArn', '${SwitchoverStateMachine}', { label: 'switchover failed' }],
        ['AWS/States', 'ExecutionsAborted', 'StateMachineArn', '${SwitchoverStateMachine}', { label: 'switchover stopped' }],
      ],
    }),
    widget(12, 5, 12, 6, 'Runs failed, targets failed, changes applied', {
      stat: 'Sum',
      metrics: [
        ...TRIGGERS.map((trigger) => [NAMESPACE, 'RunsFailed', 'service', SERVICE_DIMENSION.Value, 'Trigger', trigger, { label: `RunsFailed (${trigger})` }]),
        [NAMESPACE, 'TargetsFailed', 'service', SERVICE_DIMENSION.Value, { label: 'TargetsFailed (all targets)' }],
        ...TRIGGERS.map((trigger) => [NAMESPACE, 'ChangesApplied', 'service', SERVICE_DIMENSION.Value, 'Trigger', trigger, { label: `ChangesApplied (${trigger})` }]),
        ...TRIGGERS.filter((trigger) => trigger !== 'event').map((trigger) => [NAMESPACE, 'DriftRepaired', 'service', SERVICE_DIMENSION.Value, 'Trigger', trigger, { label: `DriftRepaired (${trigger})` }]),
      ],
    }),
    widget(0, 11, 12, 6, 'Time to follow the writer (ms, max per 5 min)', {
      stat: 'Maximum',
      metrics: [
        ...TRIGGERS.map((trigger) => [NAMESPACE, 'EndToEndTime', 'service', SERVICE_DIMENSION.Value, 'Trigger', trigger, { label: `EndToEndTime (${trigger})` }]),
        [NAMESPACE, 'WriterVerificationTime', 'service', SERVICE_DIMENSION.Value, { label: 'WriterVerificationTime' }],
        [NAMESPACE, 'TrafficShiftTime', 'service', SERVICE_DIMENSION.Value, { label: 'TrafficShiftTime' }],
      ],
    }),
    widget(12, 11, 12, 6, 'Per PgBouncer target: repoint time (ms) and failures', {
      metrics: [
        ...searchOf(`{${NAMESPACE},service,Target} MetricName="TargetRepointTime"`, 'Maximum', 'TargetRepointTime'),
        ...searchOf(`{${NAMESPACE},service,Target} MetricName="TargetsFailed"`, 'Sum', 'TargetsFailed'),
      ],
    }),
    widget(0, 17, 12, 6, `AuroraGlobalDBRPOLag of ${scope.dbClusterIdentifier} (ms; only while a secondary)`, {
      stat: 'Maximum',
      metrics: [['AWS/RDS', 'AuroraGlobalDBRPOLag', 'DBClusterIdentifier', scope.dbClusterIdentifier, { label: 'RPO lag' }]],
      annotations: { horizontal: [{ label: 'alarms.maxRpoLagMs', value: scope.maxRpoLagMs }] },
    }),
    widget(12, 17, 12, 6, 'RDS global-failover events received by the intake', {
      metrics: [
        ...searchOf(`{${NAMESPACE},service,GlobalClusterId,EventId} MetricName="FailoversDetected"`, 'Sum', 'FailoversDetected'),
        ...searchOf(`{${NAMESPACE},service,GlobalClusterId,EventId} MetricName="FailoverProgressEvents"`, 'Sum', 'FailoverProgressEvents'),
        ...searchOf(`{${NAMESPACE},service,GlobalClusterId} MetricName="MalformedEvents"`, 'Sum', 'MalformedEvents'),
        ...searchOf(`{${NAMESPACE},service,GlobalClusterId,Trigger} MetricName="ReconcileStarted"`, 'Sum', 'ReconcileStarted'),
      ],
    }),
    widget(0, 23, 24, 6, 'Lambda errors and throttles of this stack', {
      metrics: [
        ...searchOf(`{AWS/Lambda,FunctionName} MetricName="Errors" FunctionName="${scope.prefix}-"`, 'Sum', 'Errors'),
        ...searchOf(`{AWS/Lambda,FunctionName} MetricName="Throttles" FunctionName="${scope.prefix}-"`, 'Sum', 'Throttles'),
      ],
    }),
  ];
  return JSON.stringify({ widgets });
}

module.exports = async ({ resolveVariable, resolveConfigurationProperty }) => {
  const [service, stage, functions, globalClusterId, dbClusterIdentifier, alarmTopicArns, maxRpoLagMs, scheduleSeconds, pauseBudgetSeconds] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveConfigurationProperty(['functions']),
    resolveVariable('failover:globalClusterId'),
    resolveVariable('failover:dbClusterIdentifier'),
    resolveVariable('failover:alarmTopicArns'),
    resolveVariable('failover:maxRpoLagMs'),
    resolveVariable('failover:scheduleSeconds'),
    resolveVariable('failover:pauseBudgetSeconds'),
  ]);
  const prefix = `${service}-${stage}`;
  const resumeEarly = functionsByHandlerKey(functions).get('resume-early');
  if (!resumeEarly) throw new Error('serverless/observability.cjs: no function has handler functions/resume-early.handler (the pause budget alarm watches it)');
  const scope = { prefix, globalClusterId, dbClusterIdentifier, alarmTopicArns, maxRpoLagMs, scheduleSeconds, pauseBudgetSeconds, resumeEarlyFunctionName: resumeEarly.name };
  const Resources = alarms(scope);
  const alarmNames = Object.values(Resources).map((alarm) => alarm.Properties.AlarmName);
  Resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      // Dashboards are global to the account: the region keeps each regional stack's apart.
      DashboardName: sub(`${prefix}-\${AWS::Region}`),
      DashboardBody: sub(dashboardBody(scope, alarmNames)),
    },
  };
  return { Resources, Outputs: { DashboardName: { Value: { Ref: 'Dashboard' } } } };
};
module.exports.NAMESPACE = NAMESPACE;
module.exports.SERVICE_DIMENSION = SERVICE_DIMENSION;
module.exports.TRIGGERS = TRIGGERS;
