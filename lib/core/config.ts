import { describeIssues } from './validation.ts';
// A namespace import lets esbuild keep only the zod functions used (lib/core/validation.ts).
import * as z from 'zod/mini';
import { InvalidConfigError } from './errors.ts';
import { isSafeHost, isValidPort } from './endpoint.ts';
import { labelSelectorProblem } from './label-selector.ts';
import { ReloadStrategy, TrafficPolicy } from './constants.ts';

/**
 * The deployment's configuration: one file per stage (`config/<stage>.yml`), the same file for every
 * region's stack; each stack acts on its own region's section (and on traffic for all regions).
 * `config/example.yml` is the commented reference.
 */

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const RDS_IDENTIFIER = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
const DB_CLUSTER_ARN = /^arn:aws[a-z-]*:rds:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:cluster:[A-Za-z][A-Za-z0-9-]{0,62}$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const K8S_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
// PgBouncer database alias: a plain identifier, so it can never break out of `[databases]`.
const PGBOUNCER_ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const LABEL_SELECTOR = /^[A-Za-z0-9._\/-]+(=|==|!=)[A-Za-z0-9._-]*(,[A-Za-z0-9._\/-]+(=|==|!=)[A-Za-z0-9._-]*)*$/;
const ENDPOINT_GROUP_ARN = /^arn:aws:globalaccelerator::\d{12}:accelerator\/[A-Za-z0-9-]+\/listener\/[A-Za-z0-9]+\/endpoint-group\/[A-Za-z0-9]+$/;
const HOSTED_ZONE_ID = /^[A-Z0-9]{1,32}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:[A-Za-z0-9_-]{1,256}$/;
// A key ARN (not an alias): IAM grants key use by key ARN. Multi-Region keys have ids starting `mrk-`.
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;
const SCHEDULE = /^(disabled|rate\(\d+ (minute|minutes|hour|hours)\))$/;

const endpointSchema = z.strictObject({
  host: z.string().check(z.refine(isSafeHost, 'must be a DNS name or an IP literal')),
  port: z.number().check(z.refine(isValidPort, 'must be an integer from 1 to 65535')),
});

/** A string that matches `pattern`, or the issue `message`. */
const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));
/** An integer from `min` to `max`. */
const integer = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

const poolerTargetSchema = z.strictObject({
  /** Unique name of this target, used in outputs, metrics and execution names. */
  name: matching(K8S_NAME, 'must be a lowercase DNS label'),
  eksCluster: matching(EKS_CLUSTER_NAME, 'must be an EKS cluster name'),
  namespace: matching(K8S_NAME, 'must be a Kubernetes namespace name'),
  configMap: matching(K8S_SUBDOMAIN, 'must be a Kubernetes object name'),
  key: z._default(matching(CONFIGMAP_KEY, 'must be a ConfigMap key'), 'pgbouncer.ini'),
  workload: z.strictObject({
    kind: z._default(z.enum(['Deployment', 'StatefulSet']), 'Deployment'),
    name: matching(K8S_SUBDOMAIN, 'must be a Kubernetes object name'),
  }),
  /** Label selector of the workload's pods, e.g. `app=pgbouncer`. */
  podSelector: matching(LABEL_SELECTOR, 'must be a label selector like app=pgbouncer').check(
    z.superRefine((selector, context) => {
      // Exec and eviction go only to pods this selects: it must name the workload, not merely exclude others.
      const problem = LABEL_SELECTOR.test(selector) ? labelSelectorProblem(selector) : null;
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  ),
  reloadStrategy: z._default(z.enum([ReloadStrategy.Live, ReloadStrategy.RolloutRestart]), ReloadStrategy.Live),
  aliases: z.strictObject({
    write: matching(PGBOUNCER_ALIAS, 'must be a PgBouncer database alias'),
    read: matching(PGBOUNCER_ALIAS, 'must be a PgBouncer database alias'),
  }),
  /** `live` only: the container that execs the switch (has psql and the writable config dir). */
  adminContainer: z._default(matching(K8S_NAME, 'must be a container name'), 'pgbouncer-admin'),
  /** `live` only: how long one pod may take to pause, reload and resume before it is restarted instead. */
  liveSwitchTimeoutSeconds: z._default(integer(1, 120), 10),
});

/**
 * Optional: run the functions that reach this region's EKS clusters (plan, preflight, and those that
 * pause, apply and resume) in these private subnets, for a cluster whose API endpoint is private.
 * Lambda allows up to 16 subnets and 5 security groups. docs/aws.md lists the VPC endpoints they need.
 */
const vpcSchema = z
  .strictObject({
    subnetIds: z.array(matching(SUBNET_ID, 'must be a subnet id (subnet-0123abcd...)')).check(z.minLength(1), z.maxLength(16)),
    securityGroupIds: z.array(matching(SECURITY_GROUP_ID, 'must be a security group id (sg-0123abcd...)')).check(z.minLength(1), z.maxLength(5)),
  })
  .check(
    z.superRefine((vpc, ctx) => {
      for (const key of ['subnetIds', 'securityGroupIds'] as const) {
        vpc[key].forEach((id, index) => {
          if (vpc[key].indexOf(id) !== index) ctx.addIssue({ code: 'custom', path: [key, index], message: `duplicates ${id}` });
        });
      }
    }),
  );

const regionSchema = z.strictObject({
  dbClusterArn: matching(DB_CLUSTER_ARN, 'must be an Aurora DB cluster ARN'),
  /** Optional pins; otherwise the cluster's writer/reader endpoints from DescribeDBClusters. */
  endpoints: z.optional(z.strictObject({ writer: z.optional(endpointSchema), reader: z.optional(endpointSchema) })),
  poolers: z._default(z.array(poolerTargetSchema), []),
  vpc: z.optional(vpcSchema),
  traffic: z._default(
    z.strictObject({
      globalAccelerator: z.optional(z.strictObject({ endpointGroupArn: matching(ENDPOINT_GROUP_ARN, 'must be a Global Accelerator endpoint group ARN') })),
      route53: z.optional(
        z.strictObject({
          hostedZoneId: matching(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id'),
          recordName: z.string().check(z.refine(isSafeHost, 'must be a DNS name')),
          recordType: z._default(z.enum(['A', 'AAAA', 'CNAME']), 'A'),
          setIdentifier: z.string().check(z.minLength(1), z.maxLength(128)),
        }),
      ),
    }),
    {},
  ),
});

const weight = integer(0, 100);

export const configSchema = z
  .strictObject({
    globalClusterId: matching(RDS_IDENTIFIER, 'must be a global cluster identifier'),
    regions: z.record(matching(AWS_REGION, 'must be an AWS region name'), regionSchema),
    traffic: z._default(
      z.strictObject({
        policy: z._default(z.enum([TrafficPolicy.None, TrafficPolicy.FollowWriter, TrafficPolicy.DrainUnhealthy]), TrafficPolicy.None),
        /** Percent (Global Accelerator traffic dial) and Route 53 weight; 0..100. */
        weights: z._default(z.strictObject({ writer: z._default(weight, 100), others: z._default(weight, 100) }), { writer: 100, others: 100 }),
        // Bounded below the shift-traffic Lambda's 600 s timeout so the wait for INSYNC can finish inside it.
        route53ChangeTimeoutSeconds: z._default(integer(5, 480), 120),
      }),
      { policy: TrafficPolicy.None, weights: { writer: 100, others: 100 }, route53ChangeTimeoutSeconds: 120 },
    ),
    reconcile: z._default(
      z.strictObject({
        /** `rate(5 minutes)` (default) or `disabled`. */
        schedule: z._default(matching(SCHEDULE, 'must be rate(N minutes) or disabled'), 'rate(5 minutes)'),
        /** How long the workflow waits for the global cluster to settle before failing. */
        stableTimeoutSeconds: z._default(integer(30, 3600), 900),
        pollSeconds: z._default(integer(1, 300), 15),
        /**
         * How long a global cluster that is not `available` (with a single settled writer and no failover in
         * progress) is waited for before writes are routed by it anyway; see docs/outage.md.
         */
        unavailableGraceSeconds: z._default(integer(0, 3600), 120),
      }),
      { schedule: 'rate(5 minutes)', stableTimeoutSeconds: 900, pollSeconds: 15, unavailableGraceSeconds: 120 },
    ),
    switchover: z._default(
      z.strictObject({
        /** Longest time write aliases stay paused during a manual switchover. */
        pauseBudgetSeconds: z._default(integer(1, 300), 60),
        timeoutSeconds: z._default(integer(60, 7200), 1800),
        /** Run lock lease: longer than any legitimate run (the switchover state machine times out after 7200 s); a crashed run's lock is taken over after this. */
        lockLeaseSeconds: z._default(integer(60, 14400), 7500),
      }),
      { pauseBudgetSeconds: 60, timeoutSeconds: 1800, lockLeaseSeconds: 7500 },
    ),
    notifications: z.optional(
      z.strictObject({
        snsTopicArn: matching(SNS_TOPIC_ARN, 'must be an SNS topic ARN'),
        /**
         * The customer managed KMS key that encrypts the topic (SSE), if any: the report functions' roles
         * then get kms:GenerateDataKey and kms:Decrypt on it (through SNS only), or Publish is denied.
         */
        kmsKeyArn: z.optional(matching(KMS_KEY_ARN, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)')),
      }),
    ),
    /** The stack's CloudWatch alarms (serverless/observability.cjs); they notify notifications.snsTopicArn when it is in the stack's region. */
    alarms: z._default(
      z.strictObject({
        /** AuroraGlobalDBRPOLag (ms) of this region's member, while it is a secondary, above which the RPO lag alarm fires. */
        maxRpoLagMs: z._default(integer(1, 3_600_000), 10_000),
      }),
      { maxRpoLagMs: 10_000 },
    ),
  })
  .check(
    z.superRefine((config, ctx) => {
      const regionNames = Object.keys(config.regions);
      const notifications = config.notifications;
      if (notifications?.kmsKeyArn) {
        const topicRegion = SNS_TOPIC_ARN.exec(notifications.snsTopicArn)?.[1];
        const keyRegion = KMS_KEY_ARN.exec(notifications.kmsKeyArn)?.[1];
        if (topicRegion && keyRegion && topicRegion !== keyRegion) {
          ctx.addIssue({ code: 'custom', path: ['notifications', 'kmsKeyArn'], message: `is in ${keyRegion}, but the topic is in ${topicRegion} (SNS encrypts with a key of the topic's region)` });
        }
      }
      if (regionNames.length < 1) ctx.addIssue({ code: 'custom', path: ['regions'], message: 'must name at least one region' });
      const targetNames = new Set<string>();
      for (const [region, section] of Object.entries(config.regions)) {
        const arnRegion = DB_CLUSTER_ARN.exec(section.dbClusterArn)?.[1];
        if (arnRegion && arnRegion !== region) {
          ctx.addIssue({ code: 'custom', path: ['regions', region, 'dbClusterArn'], message: `is in ${arnRegion}, not ${region}` });
        }
        section.poolers.forEach((target, index) => {
          if (targetNames.has(target.name)) {
            ctx.addIssue({ code: 'custom', path: ['regions', region, 'poolers', index, 'name'], message: `duplicates target name ${target.name}` });
          }
          targetNames.add(target.name);
          if (target.aliases.write === target.aliases.read) {
            ctx.addIssue({ code: 'custom', path: ['regions', region, 'poolers', index, 'aliases'], message: 'write and read aliases must differ' });
          }
        });
      }
    }),
  );

export type Config = z.infer<typeof configSchema>;
export type RegionConfig = Config['regions'][string];
export type PoolerTargetConfig = RegionConfig['poolers'][number];

/** Validates a parsed config object; throws InvalidConfigError whose message names every bad field. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw new InvalidConfigError(`${source} is invalid: ${problems.join('; ')}`);
}

/** This region's section, or an InvalidConfigError naming the region. */
export function regionConfig(config: Config, region: string): RegionConfig {
  const section = config.regions[region];
  if (!section) throw new InvalidConfigError(`regions.${region}: this stack's region is not configured (configured: ${Object.keys(config.regions).join(', ')})`);
  return section;
}
