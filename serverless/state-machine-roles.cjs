'use strict';
/**
 * The state machines' IAM roles (`resources: - ${file(serverless/state-machine-roles.cjs)}`), derived
 * from the ASL files themselves so they never drift from the definitions:
 * - lambda:InvokeFunction on exactly the functions the definition's Task states name;
 * - for a nested `states:startExecution[.sync[:2]]` Task: states:StartExecution on that state machine and,
 *   for `.sync`, states:DescribeExecution/StopExecution on its executions plus the managed EventBridge rule
 *   Step Functions uses to learn that the child finished (AWS Step Functions developer guide,
 *   "IAM policies for starting a new state machine from a running execution").
 *
 * Function ARNs are built from the functions' names (Fn::Sub), so a role never depends on a function
 * resource; the nested state machine is a Ref (the child never references its parent).
 */
const { PLACEHOLDER_FUNCTION_ARN_PREFIX, PLACEHOLDER_STATE_MACHINES, functionsByHandlerKey, readDefinition, taskStates } = require('./definitions.cjs');

/** serverless.yml state machine key -> the logical id of its role (named in its `role:`). */
const STATE_MACHINES = {
  reconcile: 'ReconcileStateMachineRole',
  switchover: 'SwitchoverStateMachineRole',
};

const START_EXECUTION = /^arn:aws:states:::states:startExecution(\.sync(:2)?)?$/;

function sub(template) {
  return { 'Fn::Sub': template };
}

async function roleOf(name, prefix, functionsByKey) {
  const { file, definition } = await readDefinition(name);
  const invoked = new Set();
  const nested = new Map();
  for (const task of taskStates(definition)) {
    const resource = String(task.Resource);
    if (resource.startsWith(PLACEHOLDER_FUNCTION_ARN_PREFIX)) {
      const key = resource.slice(PLACEHOLDER_FUNCTION_ARN_PREFIX.length);
      if (!functionsByKey.has(key)) throw new Error(`${file}: ${resource} names function "${key}", but no function in serverless.yml has handler functions/${key}.handler`);
      invoked.add(key);
      continue;
    }
    const start = START_EXECUTION.exec(resource);
    if (start) {
      const target = PLACEHOLDER_STATE_MACHINES[task.Parameters && task.Parameters.StateMachineArn];
      if (!target) throw new Error(`${file}: ${resource} starts a state machine that serverless/definitions.cjs does not map`);
      nested.set(target.logicalId, { ...target, sync: Boolean(start[1]) || (nested.get(target.logicalId) || {}).sync });
      continue;
    }
    throw new Error(`${file}: Task resource ${resource} has no IAM mapping in serverless/state-machine-roles.cjs`);
  }

  const statements = [];
  if (invoked.size > 0) {
    statements.push({
      Sid: 'InvokeItsFunctions',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: [...invoked].sort().map((key) => sub(`arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${functionsByKey.get(key).name}`)),
    });
  }
  for (const target of nested.values()) {
    statements.push({ Sid: `Start${target.logicalId}`, Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: target.logicalId } });
    if (target.sync) {
      statements.push(
        {
          Sid: `Follow${target.logicalId}Executions`,
          Effect: 'Allow',
          Action: ['states:DescribeExecution', 'states:StopExecution'],
          Resource: sub(`arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${prefix}-${target.nameSuffix}:*`),
        },
        {
          Sid: 'ManagedCompletionRule',
          Effect: 'Allow',
          Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          Resource: sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule'),
        },
      );
    }
  }
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `${prefix}-${name} state machine: invoke its own functions only (serverless/state-machine-roles.cjs)`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: `${name}-state-machine`, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

module.exports = async ({ resolveVariable, resolveConfigurationProperty }) => {
  const [service, stage, functions] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveConfigurationProperty(['functions']),
  ]);
  const prefix = `${service}-${stage}`;
  const functionsByKey = functionsByHandlerKey(functions);
  const Resources = {};
  for (const [name, roleId] of Object.entries(STATE_MACHINES)) Resources[roleId] = await roleOf(name, prefix, functionsByKey);
  return { Resources };
};
