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
  'verify-writer': ['readGlobalCluster', 'readMemberClusters'],
  plan: ['readPoolers', 'readTraffic'],
  'apply-pooler': ['reachPoolers'],
  'shift-traffic': ['readTraffic', 'writeTraffic'],
  report: ['notify'],
  'resume-poolers': ['reachPoolers'],
  'report-failure': ['notify'],
  preflight: ['readTopology', 'readRpoLag', 'readPoolers', 'readTraffic', 'invokePeers'],
  'pause-poolers': ['reachPoolers'],
  // A repeated ExecuteSwitch reads FailoverState after a state fault (lib/adapters/rds.ts alreadyMoving).
  'execute-switch': ['moveWriter', 'readGlobalCluster'],
  'check-switch': ['readTopology'],
  'resume-early': ['reachPoolers'],
  'summarize-switchover': [],
  // Cross-region coordination (docs/coordination.md).
  'prepare-peers': ['invokePeers'],
  'release-peers': ['invokePeers'],
  // At lease end: is a newer follow run RUNNING in this region (it owns the pause then)?
  'check-follow': ['readTopology', 'listRunningExecutions'],
  // Not a workflow task: invoked by the peer regions' prepare-peers and preflight.
  'prepare-for-switch': ['reachPoolers', 'readTopology', 'startFollowRun'],
};

/**
 * The grants that reach this region's EKS clusters, and the Kubernetes group each maps to (the EKS access
 * entries of serverless/eks-access.cjs; the RBAC in deploy/kubernetes binds the groups). A function with
 * either grant also runs in the region's VPC when one is configured (serverless/vpc.cjs).
 */
const KUBERNETES_GROUP_BY_GRANT = {
  // Patches the ConfigMap, execs into pods, restarts and evicts.
  reachPoolers: 'aurora-failover-operator',
  // Reads the ConfigMap and lists pods (plan, preflight).
  readPoolers: 'aurora-failover-readonly',
};

/** Function key -> its Kubernetes group, for every function that talks to Kubernetes (operator wins). */
function kubernetesGroupsByFunction() {
  const groups = {};
  for (const [functionKey, names] of Object.entries(GRANTS_BY_FUNCTION)) {
    if (names.includes('reachPoolers')) groups[functionKey] = KUBERNETES_GROUP_BY_GRANT.reachPoolers;
    else if (names.includes('readPoolers')) groups[functionKey] = KUBERNETES_GROUP_BY_GRANT.readPoolers;
  }
  return groups;
}

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
    readPoolers: statement('DescribeEksClustersToRead', ['eks:DescribeCluster'], scope.eksClusterArns),
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

/**
 * What Lambda needs to attach a function to the VPC (the actions of AWSLambdaVPCAccessExecutionRole
 * except the log actions every role has): creating interfaces only in the configured subnets and
 * security groups; Describe* has no resource-level permissions; deleting needs every resource id of the
 * account and region (Lambda developer guide, "Giving Lambda functions access to a VPC").
 */
function vpcNetworkInterfaceStatements(vpc) {
  const ec2 = (resource) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:${resource}` });
  return [
    {
      Sid: 'CreateVpcNetworkInterfaces',
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterface'],
      Resource: [
        ec2('network-interface/*'),
        ...vpc.subnetIds.map((id) => ec2(`subnet/${id}`)),
        ...vpc.securityGroupIds.map((id) => ec2(`security-group/${id}`)),
      ],
    },
    { Sid: 'DescribeVpcNetworkInterfaces', Effect: 'Allow', Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], Resource: ['*'] },
    {
      Sid: 'ManageVpcNetworkInterfaces',
      Effect: 'Allow',
      Action: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      Resource: [ec2('*/*')],
    },
  ];
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
  if (scope.vpc.subnetIds.length > 0 && functionKey in kubernetesGroupsByFunction()) statements.push(...vpcNetworkInterfaceStatements(scope.vpc));
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
  const [service, stage, globalClusterArn, memberDbClusterArns, eksClusterArns, endpointGroupArns, hostedZoneArns, snsTopicArn, snsKmsKeyArn, peerRegions, vpc] = await Promise.all([
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
    resolveVariable('failover:vpc'),
  ]);
  const scope = { prefix: `${service}-${stage}`, globalClusterArn, memberDbClusterArns, eksClusterArns, endpointGroupArns, hostedZoneArns, snsTopicArn, snsKmsKeyArn, peerRegions, vpc };
  const grants = grantStatements(scope);
  const Resources = {};
  for (const [functionKey, names] of Object.entries(GRANTS_BY_FUNCTION)) {
    const unknown = names.filter((name) => !(name in grants));
    if (unknown.length > 0) throw new Error(`serverless/function-roles.cjs: ${functionKey} names unknown grant(s) ${unknown.join(', ')}`);
    Resources[roleLogicalId(functionKey)] = roleOf(functionKey, grants, scope);
  }
  // Each of these roles has an EKS access entry per cluster (serverless/eks-access.cjs).
  const poolerRoles = Object.keys(kubernetesGroupsByFunction()).map(roleLogicalId);
  const Outputs =
    eksClusterArns.length === 0
      ? {}
      : {
          PoolerRoleArns: {
            Description: 'Roles that reach the PgBouncer targets; the stack gives each an EKS access entry (serverless/eks-access.cjs)',
            Value: { 'Fn::Join': [',', poolerRoles.map((roleId) => ({ 'Fn::GetAtt': [roleId, 'Arn'] }))] },
          },
        };
  return { Resources, Outputs };
};
module.exports.GRANTS_BY_FUNCTION = GRANTS_BY_FUNCTION;
module.exports.KUBERNETES_GROUP_BY_GRANT = KUBERNETES_GROUP_BY_GRANT;
module.exports.kubernetesGroupsByFunction = kubernetesGroupsByFunction;
module.exports.roleLogicalId = roleLogicalId;
