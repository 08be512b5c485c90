'use strict';
/**
 * State machine definitions for serverless.yml: `definition: ${file(serverless/definitions.cjs):reconcile}`.
 *
 * statemachines/*.asl.json stay plain, locally runnable ASL with placeholder ARNs (the tests execute
 * them with aws-local-stepfunctions). Here every placeholder becomes a CloudFormation reference:
 *   arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-<key>
 *       -> { "Fn::GetAtt": [<logical id of the function whose handler is functions/<key>.handler>, "Arn"] }
 *   arn:aws:states:us-east-1:000000000000:stateMachine:aurora-failover-reconcile
 *       -> { "Ref": "ReconcileStateMachine" }
 * Any other string naming the placeholder account fails packaging, naming the file, the JSON path
 * and the value: a definition never reaches AWS with a placeholder in it.
 *
 * The prefixes mirror lib/workflow/workflow-tasks.ts (PLACEHOLDER_*); the packaging test checks that
 * no placeholder survives.
 */
const { readFile } = require('node:fs/promises');
const path = require('node:path');

const PLACEHOLDER_ACCOUNT = ':000000000000:';
const PLACEHOLDER_FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-';
/** Placeholder state machine ARN -> the state machine of this stack it stands for (serverless.yml). */
const PLACEHOLDER_STATE_MACHINES = {
  'arn:aws:states:us-east-1:000000000000:stateMachine:aurora-failover-reconcile': { logicalId: 'ReconcileStateMachine', nameSuffix: 'reconcile' },
};

/** Serverless's logical id of a function (naming.getLambdaLogicalId): `foo-bar_baz` -> `FooDashbarUnderscorebazLambdaFunction`. */
function lambdaLogicalId(functionKey) {
  const normalized = functionKey.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalized.charAt(0).toUpperCase()}${normalized.slice(1)}LambdaFunction`;
}

/** Placeholder function key -> { logicalId, name } of the function whose handler is functions/<key>.handler. */
function functionsByHandlerKey(functions) {
  const byKey = new Map();
  for (const [functionKey, definition] of Object.entries(functions || {})) {
    const match = /^functions\/([a-z0-9-]+)\.handler$/.exec(String(definition && definition.handler));
    if (match) byKey.set(match[1], { logicalId: lambdaLogicalId(functionKey), name: definition.name });
  }
  return byKey;
}

function replacePlaceholders(value, jsonPath, lookup, file) {
  if (Array.isArray(value)) return value.map((item, index) => replacePlaceholders(item, `${jsonPath}[${index}]`, lookup, file));
  if (value && typeof value === 'object') {
    const replaced = {};
    for (const [key, item] of Object.entries(value)) replaced[key] = replacePlaceholders(item, `${jsonPath}.${key}`, lookup, file);
    return replaced;
  }
  if (typeof value !== 'string' || !value.includes(PLACEHOLDER_ACCOUNT)) return value;
  if (value.startsWith(PLACEHOLDER_FUNCTION_ARN_PREFIX)) {
    const key = value.slice(PLACEHOLDER_FUNCTION_ARN_PREFIX.length);
    const found = lookup.functions.get(key);
    if (!found) {
      throw new Error(`${file} ${jsonPath}: placeholder ${value} names function "${key}", but no function in serverless.yml has handler functions/${key}.handler`);
    }
    return { 'Fn::GetAtt': [found.logicalId, 'Arn'] };
  }
  const stateMachine = PLACEHOLDER_STATE_MACHINES[value];
  if (stateMachine) return { Ref: stateMachine.logicalId };
  throw new Error(`${file} ${jsonPath}: unknown placeholder ${value}; map it in serverless/definitions.cjs`);
}

/** The plain ASL of statemachines/<name>.asl.json, and its path for messages. */
async function readDefinition(name) {
  const file = path.join('statemachines', `${name}.asl.json`);
  return { file, definition: JSON.parse(await readFile(path.join(__dirname, '..', file), 'utf8')) };
}

/** Every Task state of a definition, nested ones (Map ItemProcessor/Iterator, Parallel Branches) included. */
function taskStates(definition) {
  const found = [];
  const visit = (states) => {
    for (const state of Object.values(states || {})) {
      if (state.Type === 'Task') found.push(state);
      const processor = state.ItemProcessor || state.Iterator;
      if (processor) visit(processor.States);
      for (const branch of state.Branches || []) visit(branch.States);
    }
  };
  visit(definition.States);
  return found;
}

function definitionOf(name) {
  return async ({ resolveConfigurationProperty }) => {
    const { file, definition } = await readDefinition(name);
    const functions = await resolveConfigurationProperty(['functions']);
    return replacePlaceholders(definition, '$', { functions: functionsByHandlerKey(functions) }, file);
  };
}

module.exports = {
  reconcile: definitionOf('reconcile'),
  switchover: definitionOf('switchover'),
  // For serverless/state-machine-roles.cjs and the packaging test.
  PLACEHOLDER_FUNCTION_ARN_PREFIX,
  PLACEHOLDER_STATE_MACHINES,
  readDefinition,
  taskStates,
  functionsByHandlerKey,
  lambdaLogicalId,
  replacePlaceholders,
};
