'use strict';
/**
 * Local Serverless plugin: validates the deployment config at package/deploy time and exposes it to
 * serverless.yml as the `${failover:<address>}` variable source.
 *
 * The config file is `config/<stage>.yml`, or the path in the FAILOVER_CONFIG_FILE environment
 * variable. Validation runs `node lib/cli/validate-config.ts <file> --region <region>` with the Node
 * that runs `sls` (Node 24 through our npm scripts), so the Lambdas and the build share one schema
 * (lib/core/config.ts). An invalid config fails `sls package` with the field named, printed once on one
 * line without a stack trace: sls would otherwise list the same error once per `${failover:...}` variable
 * (and with stacks for file resolvers), so the plugin prints it itself and exits 1. The plugin also checks
 * what the schema cannot know: `switchover.lockLeaseSeconds` must exceed both state machines'
 * TimeoutSeconds (statemachines/*.asl.json), or a run still inside its timeout could be taken for stuck.
 *
 * Addresses (all derived from the validated config, for this stack's region):
 *   json                 compact normalized config
 *   jsonLiteral          the same as a JavaScript string literal: esbuild `define`s __FAILOVER_CONFIG_JSON__
 *                        to it, so every function bundles its config (no 4 KB environment variable ceiling)
 *   file                 the config file used
 *   globalClusterId      the Aurora global cluster id
 *   dbClusterArn         this region's member DB cluster ARN
 *   globalClusterArn     the global cluster's ARN (arn:<partition>:rds::<account>:global-cluster:<id>)
 *   memberDbClusterArns  every configured member's DB cluster ARN
 *   eksClusterArns       ARNs of the EKS clusters this region's pooler targets live in
 *   eksClusterNames      their names (one EKS access entry per cluster and pooler role)
 *   vpc                  this region's { subnetIds, securityGroupIds }; both empty when no VPC is configured
 *   dbClusterIdentifier  this region's member cluster identifier (the RPO lag alarm's dimension)
 *   alarmTopicArns       [notifications.snsTopicArn] when that topic is in this region, else [] (alarm actions)
 *   maxRpoLagMs          alarms.maxRpoLagMs
 *   pauseBudgetSeconds   switchover.pauseBudgetSeconds
 *   scheduleSeconds      the reconcile schedule's period in seconds (0 when disabled)
 *   endpointGroupArns    every configured Global Accelerator endpoint group ARN (all regions)
 *   hostedZoneArns       ARNs of every configured Route 53 hosted zone (all regions, deduplicated)
 *   snsTopicArn          the notification topic ARN, or '' when notifications are off
 *   snsKmsKeyArn         the KMS key that encrypts that topic, or '' when none is configured
 *   scheduleRate         the reconcile schedule's rate expression (a valid one even when disabled)
 *   scheduleEnabled      false when reconcile.schedule is `disabled`
 */
const { execFile } = require('node:child_process');
const path = require('node:path');
const { readDefinition } = require('./definitions.cjs');

const MIN_NODE_MAJOR = 24;
const DEFAULT_SCHEDULE_RATE = 'rate(5 minutes)';

// sls prints a plugin error's stack; for a config mistake only the message (the field) matters.
function withoutStack(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** A validator's stderr as one line: no class-name prefix, line breaks joined with '; '. */
function oneLine(text) {
  return String(text)
    .trim()
    .replace(/^InvalidConfigError:\s*/, '')
    .split(/\s*[\r\n]+\s*/)
    .filter(Boolean)
    .join('; ');
}

/**
 * `switchover.lockLeaseSeconds` must exceed every state machine's TimeoutSeconds: the run lock ignores an
 * execution RUNNING longer than the lease, so a shorter lease lets a second run start beside a live one.
 * Returns the problem as one line, or undefined.
 */
function lockLeaseProblem(lockLeaseSeconds, timeouts) {
  const longest = Math.max(...Object.values(timeouts));
  if (lockLeaseSeconds > longest) return undefined;
  const listed = Object.entries(timeouts).map(([name, seconds]) => `${name} ${seconds} s`).join(', ');
  return `switchover.lockLeaseSeconds is ${lockLeaseSeconds} but must exceed both state machines' TimeoutSeconds (${listed}): a run still inside its timeout would be taken for stuck and a second run would start beside it; set it above ${longest}`;
}

async function stateMachineTimeouts() {
  const entries = await Promise.all(['reconcile', 'switchover'].map(async (name) => [name, (await readDefinition(name)).definition.TimeoutSeconds]));
  return Object.fromEntries(entries);
}

let reported = false;
/** Prints a config problem once, on one line, and ends sls with exit code 1 (see the header). */
function failOnce(message) {
  if (!reported) {
    reported = true;
    process.stderr.write(`Error: ${message}\n`, () => process.exit(1));
  }
  // Never settles: sls must not go on to list the same problem for every variable.
  return new Promise(() => undefined);
}

function runValidator(serviceDir, file, region) {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < MIN_NODE_MAJOR) {
    return Promise.reject(
      withoutStack(
        `config validation needs Node.js ${MIN_NODE_MAJOR}+ but sls runs on ${process.version}; ` +
          'run it through `npm run package` or `sh scripts/with-toolchain.sh sls ...`'
      )
    );
  }
  const script = path.join(serviceDir, 'lib', 'cli', 'validate-config.ts');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [script, file, '--region', region],
      { cwd: serviceDir, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = oneLine(String(stderr).trim() || error.message);
          reject(withoutStack(detail.includes(file) ? `invalid failover config: ${detail}` : `invalid failover config (${file}): ${detail}`));
          return;
        }
        resolve(String(stdout).trim());
      }
    );
  });
}

function deriveValues(json, file, region) {
  const config = JSON.parse(json);
  const section = config.regions[region];
  const arnParts = section.dbClusterArn.split(':');
  const partition = arnParts[1];
  const account = arnParts[4];
  const eksClusterNames = [...new Set(section.poolers.map((target) => target.eksCluster))];
  const scheduleEnabled = config.reconcile.schedule !== 'disabled';
  // A stack shifts the weights of every region (a surviving region may drain a dead one), so the
  // traffic resources are those of all regions, not only this one.
  const traffic = Object.values(config.regions).map((member) => member.traffic || {});
  const endpointGroupArns = traffic.flatMap((section) => (section.globalAccelerator ? [section.globalAccelerator.endpointGroupArn] : []));
  const hostedZoneIds = [...new Set(traffic.flatMap((section) => (section.route53 ? [section.route53.hostedZoneId] : [])))];
  const topicArn = config.notifications ? config.notifications.snsTopicArn : '';
  const scheduleMatch = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(config.reconcile.schedule);
  const scheduleSeconds = scheduleMatch ? Number(scheduleMatch[1]) * (scheduleMatch[2].startsWith('hour') ? 3600 : 60) : 0;
  return {
    json,
    jsonLiteral: JSON.stringify(json),
    file,
    globalClusterId: config.globalClusterId,
    dbClusterArn: section.dbClusterArn,
    globalClusterArn: `arn:${partition}:rds::${account}:global-cluster:${config.globalClusterId}`,
    memberDbClusterArns: Object.values(config.regions).map((member) => member.dbClusterArn),
    // The other regions' stacks: prepared before a switchover, sent the global-failover events (docs/coordination.md).
    peerRegions: Object.keys(config.regions).filter((name) => name !== region),
    eksClusterArns: eksClusterNames.map((name) => `arn:${partition}:eks:${region}:${account}:cluster/${name}`),
    eksClusterNames,
    vpc: section.vpc || { subnetIds: [], securityGroupIds: [] },
    dbClusterIdentifier: arnParts[6],
    alarmTopicArns: topicArn && topicArn.split(':')[3] === region ? [topicArn] : [],
    maxRpoLagMs: config.alarms.maxRpoLagMs,
    pauseBudgetSeconds: config.switchover.pauseBudgetSeconds,
    scheduleSeconds,
    endpointGroupArns,
    hostedZoneArns: hostedZoneIds.map((id) => `arn:${partition}:route53:::hostedzone/${id}`),
    snsTopicArn: config.notifications ? config.notifications.snsTopicArn : '',
    snsKmsKeyArn: (config.notifications && config.notifications.kmsKeyArn) || '',
    scheduleRate: scheduleEnabled ? config.reconcile.schedule : DEFAULT_SCHEDULE_RATE,
    scheduleEnabled,
  };
}

class FailoverConfigPlugin {
  constructor() {
    let loaded;
    const load = async ({ serviceDir, resolveVariable }) => {
      const stage = await resolveVariable('sls:stage');
      const region = await resolveVariable('self:provider.region');
      const file = process.env.FAILOVER_CONFIG_FILE || path.join('config', `${stage}.yml`);
      const json = await runValidator(serviceDir, file, region);
      const leaseProblem = lockLeaseProblem(JSON.parse(json).switchover.lockLeaseSeconds, await stateMachineTimeouts());
      if (leaseProblem) throw withoutStack(`invalid failover config (${file}): ${leaseProblem}`);
      return deriveValues(json, file, region);
    };

    this.configurationVariablesSources = {
      failover: {
        async resolve(context) {
          if (!loaded) loaded = load(context);
          let values;
          try {
            values = await loaded;
          } catch (error) {
            return failOnce(error.message);
          }
          if (!Object.prototype.hasOwnProperty.call(values, context.address)) {
            throw withoutStack(
              `unknown \${failover:${context.address}}; known: ${Object.keys(values).join(', ')}`
            );
          }
          return { value: values[context.address] };
        },
      },
    };
  }
}

module.exports = FailoverConfigPlugin;
// For the packaging test.
module.exports.lockLeaseProblem = lockLeaseProblem;
module.exports.oneLine = oneLine;
