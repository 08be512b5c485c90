'use strict';
/**
 * One IAM role per workflow function (`resources: - ${file(serverless/function-roles.cjs)}`), least
 * privilege: each role gets exactly the grants its step uses (see GRANTS_BY_FUNCTION), scoped to the
 * resources named in the validated config (`${failover:...}`). A grant whose resources are not configured
 * (no Global Accelerator, no Route 53, no SNS topic, no pooler targets) adds no statement at all.
 *
 * Roles must not reference the state machines (they reference the functions' ARNs): the state machine
 * ARNs are built with Fn::Sub from their known names instead, which keeps the stack free of cycles.
 *
 * The role of function `<key>` is `<PascalKey>Role`; serverless.yml names it in the function's `role:`.
 */

/** What each step of lib/workflow/{reconcile,switchover,run-lock-step,coordination}.ts calls, by function key. */
const GRANTS_BY_FUNCTION = {
  'acquire-run-lock': ['listRunningExecutions'],
  'observe-topology': ['readTopology'],
  'verify-writer': ['readMemberClusters'],
  plan: ['reachPoolers', 'readTraffic'],
  'apply-pooler': ['reachPoolers'],
  'shift-traffic': ['readTraffic', 'writeTraffic'],
  report: ['notify'],
  'resume-poolers': ['reachPoolers'],
  'report-failure': ['notify'],
  preflight: ['readTopology', 'readRpoLag', 'reachPoolers', 'readTraffic', 'invokePeers'],
  'pause-poolers': ['reachPoolers'],
  // A repeated ExecuteSwitch reads FailoverState after a state fault (lib/adapters/rds.ts alreadyMoving).
  'execute-switch': ['moveWriter', 'readGlobalCluster'],
  'check-switch': ['readTopology'],
  'resume-early': ['reachPoolers'],
  'summarize-switchover': [],
  // Cross-region coordination (docs/coordination.md).
  'prepare-peers': ['invokePeers'],
  'release-peers': ['invokePeers'],
  'check-follow': ['readTopology'],
  // Not a workflow task: invoked by the peer regions' prepare-peers and preflight.
  'prepare-for-switch': ['reachPoolers', 'readTopology', 'startFollowRun'],
};

function pascalCase(key) {
  return key.replace(/(^|-)([a-z0-9])/g, (_, __, letter) => letter.toUpperCase());
}

function roleLogicalId(functionKey) {
  return `${pascalCase(functionKey)}Role`;
}

function statement(sid, actions, resources) {
  return resources.length === 0 ? [] : [{ Sid: sid, Effect: 'Allow', Action: actions, Resource: resources }];
}

/** Grant name -> statements, for the config-derived resources in `scope`. */
function grantStatements(scope) {
  const stateMachineArn = (suffix) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${scope.prefix}-${suffix}`,
  });
  const describeMembers = statement('DescribeMemberClusters', ['rds:DescribeDBClusters'], scope.memberDbClusterArns);
  return {
    listRunningExecutions: statement('ListRunningExecutions', ['states:ListExecutions'], [stateMachineArn('reconcile'), stateMachineArn('switchover')]),
    readTopology: [
      ...statement('DescribeGlobalCluster', ['rds:DescribeGlobalClusters'], [scope.globalClusterArn]),
      ...describeMembers,
    ],
    readMemberClusters: describeMembers,
    readGlobalCluster: statement('DescribeGlobalCluster', ['rds:DescribeGlobalClusters'], [scope.globalClusterArn]),
    moveWriter: statement(
      'MoveGlobalWriter',
      ['rds:SwitchoverGlobalCluster', 'rds:FailoverGlobalCluster'],
      [scope.globalClusterArn, ...scope.memberDbClusterArns],
    ),
    // The Kubernetes side (ConfigMap, pods/exec) is granted by the EKS access entry and the namespaced Role.
    reachPoolers: statement('DescribeEksClusters', ['eks:DescribeCluster'], scope.eksClusterArns),
    readTraffic: [
      ...statement('ReadEndpointGroups', ['globalaccelerator:DescribeEndpointGroup'], scope.endpointGroupArns),
      ...statement('ReadWeightedRecords', ['route53:ListResourceRecordSets'], scope.hostedZoneArns),
    ],
    writeTraffic: [
      ...statement('SetTrafficDials', ['globalaccelerator:UpdateEndpointGroup'], scope.endpointGroupArns),
      ...statement('ChangeWeightedRecords', ['route53:ChangeResourceRecordSets'], scope.hostedZoneArns),
      // Change ids are only known at run time.
      ...(scope.hostedZoneArns.length > 0 ? statement('WaitForRecordChanges', ['route53:GetChange'], [{ 'Fn::Sub': 'arn:${AWS::Partition}:route53:::change/*' }]) : []),
    ],
    // GetMetricData supports no resource-level permissions.
    readRpoLag: statement('ReadRpoLag', ['cloudwatch:GetMetricData'], ['*']),
    notify: [
      ...statement('PublishRunReports', ['sns:Publish'], scope.snsTopicArn ? [scope.snsTopicArn] : []),
      // A topic encrypted with a customer managed key: SNS needs the publisher to hold these on the key.
      ...(scope.snsTopicArn && scope.snsKmsKeyArn ? encryptForTopic(scope.snsTopicArn, scope.snsKmsKeyArn) : []),
    ],
    // Only the peer stacks' prepare-for-switch functions, named by the stack naming convention, in their regions.
    invokePeers: statement(
      'InvokePeerPrepareForSwitch',
      ['lambda:InvokeFunction'],
      scope.peerRegions.map((peer) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:lambda:${peer}:\${AWS::AccountId}:function:${scope.prefix}-prepare-for-switch` })),
    ),
    startFollowRun: statement('StartFollowRun', ['states:StartExecution'], [stateMachineArn('reconcile')]),
  };
}

/** kms:GenerateDataKey + kms:Decrypt on the topic's key, only through SNS in the topic's region. */
function encryptForTopic(topicArn, keyArn) {
  const topicRegion = topicArn.split(':')[3];
  return [
    {
      Sid: 'EncryptRunReports',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: [keyArn],
      Condition: { StringEquals: { 'kms:ViaService': `sns.${topicRegion}.amazonaws.com` } },
    },
  ];
}

function roleOf(functionKey, grants, scope) {
  const functionName = `${scope.prefix}-${functionKey}`;
  const logs = {
    Sid: 'OwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*` },
  };
  const statements = GRANTS_BY_FUNCTION[functionKey].flatMap((grant) => grants[grant]);
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `${functionName}: least-privilege role (serverless/function-roles.cjs)`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: functionKey, PolicyDocument: { Version: '2012-10-17', Statement: [logs, ...statements] } }],
    },
  };
}

module.exports = async ({ resolveVariable }) => {
  const [service, stage, globalClusterArn, memberDbClusterArns, eksClusterArns, endpointGroupArns, hostedZoneArns, snsTopicArn, snsKmsKeyArn, peerRegions] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveVariable('failover:globalClusterArn'),
    resolveVariable('failover:memberDbClusterArns'),
    resolveVariable('failover:eksClusterArns'),
    resolveVariable('failover:endpointGroupArns'),
    resolveVariable('failover:hostedZoneArns'),
    resolveVariable('failover:snsTopicArn'),
    resolveVariable('failover:snsKmsKeyArn'),
    resolveVariable('failover:peerRegions'),
  ]);
  const scope = { prefix: `${service}-${stage}`, globalClusterArn, memberDbClusterArns, eksClusterArns, endpointGroupArns, hostedZoneArns, snsTopicArn, snsKmsKeyArn, peerRegions };
  const grants = grantStatements(scope);
  const Resources = {};
  for (const [functionKey, names] of Object.entries(GRANTS_BY_FUNCTION)) {
    const unknown = names.filter((name) => !(name in grants));
    if (unknown.length > 0) throw new Error(`serverless/function-roles.cjs: ${functionKey} names unknown grant(s) ${unknown.join(', ')}`);
    Resources[roleLogicalId(functionKey)] = roleOf(functionKey, grants, scope);
  }
  // Each of these roles needs an EKS access entry (docs/kubernetes.md); role names are generated.
  const poolerRoles = Object.entries(GRANTS_BY_FUNCTION).filter(([, names]) => names.includes('reachPoolers')).map(([key]) => roleLogicalId(key));
  const Outputs =
    eksClusterArns.length === 0
      ? {}
      : {
          PoolerRoleArns: {
            Description: 'Roles that reach the PgBouncer targets: give each an EKS access entry in the aurora-failover group',
            Value: { 'Fn::Join': [',', poolerRoles.map((roleId) => ({ 'Fn::GetAtt': [roleId, 'Arn'] }))] },
          },
        };
  return { Resources, Outputs };
};
module.exports.GRANTS_BY_FUNCTION = GRANTS_BY_FUNCTION;
