import { describeIssues } from './validation.ts';
// A namespace import lets esbuild drop zod's locales from the Lambda bundles (~580 KB).
import * as z from 'zod';
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
  host: z.string().refine(isSafeHost, 'must be a DNS name or an IP literal'),
  port: z.number().refine(isValidPort, 'must be an integer from 1 to 65535'),
});

const poolerTargetSchema = z.strictObject({
  /** Unique name of this target, used in outputs, metrics and execution names. */
  name: z.string().regex(K8S_NAME, 'must be a lowercase DNS label'),
  eksCluster: z.string().regex(EKS_CLUSTER_NAME, 'must be an EKS cluster name'),
  namespace: z.string().regex(K8S_NAME, 'must be a Kubernetes namespace name'),
  configMap: z.string().regex(K8S_SUBDOMAIN, 'must be a Kubernetes object name'),
  key: z.string().regex(CONFIGMAP_KEY, 'must be a ConfigMap key').default('pgbouncer.ini'),
  workload: z.strictObject({
    kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
    name: z.string().regex(K8S_SUBDOMAIN, 'must be a Kubernetes object name'),
  }),
  /** Label selector of the workload's pods, e.g. `app=pgbouncer`. */
  podSelector: z
    .string()
    .regex(LABEL_SELECTOR, 'must be a label selector like app=pgbouncer')
    .superRefine((selector, context) => {
      // Exec and eviction go only to pods this selects: it must name the workload, not merely exclude others.
      const problem = LABEL_SELECTOR.test(selector) ? labelSelectorProblem(selector) : null;
      if (problem) context.addIssue({ code: 'custom', message: problem });
    }),
  reloadStrategy: z.enum([ReloadStrategy.Live, ReloadStrategy.RolloutRestart]).default(ReloadStrategy.Live),
  aliases: z.strictObject({
    write: z.string().regex(PGBOUNCER_ALIAS, 'must be a PgBouncer database alias'),
    read: z.string().regex(PGBOUNCER_ALIAS, 'must be a PgBouncer database alias'),
  }),
  /** `live` only: the container that execs the switch (has psql and the writable config dir). */
  adminContainer: z.string().regex(K8S_NAME, 'must be a container name').default('pgbouncer-admin'),
  /** `live` only: how long one pod may take to pause, reload and resume before it is restarted instead. */
  liveSwitchTimeoutSeconds: z.number().int().min(1).max(120).default(10),
});

/**
 * Optional: run the functions that reach this region's EKS clusters (plan, preflight, and those that
 * pause, apply and resume) in these private subnets, for a cluster whose API endpoint is private.
 * Lambda allows up to 16 subnets and 5 security groups. docs/aws.md lists the VPC endpoints they need.
 */
const vpcSchema = z
  .strictObject({
    subnetIds: z.array(z.string().regex(SUBNET_ID, 'must be a subnet id (subnet-0123abcd...)')).min(1).max(16),
    securityGroupIds: z.array(z.string().regex(SECURITY_GROUP_ID, 'must be a security group id (sg-0123abcd...)')).min(1).max(5),
  })
  .superRefine((vpc, ctx) => {
    for (const key of ['subnetIds', 'securityGroupIds'] as const) {
      vpc[key].forEach((id, index) => {
        if (vpc[key].indexOf(id) !== index) ctx.addIssue({ code: 'custom', path: [key, index], message: `duplicates ${id}` });
      });
    }
  });

const regionSchema = z.strictObject({
  dbClusterArn: z.string().regex(DB_CLUSTER_ARN, 'must be an Aurora DB cluster ARN'),
  /** Optional pins; otherwise the cluster's writer/reader endpoints from DescribeDBClusters. */
  endpoints: z
    .strictObject({ writer: endpointSchema.optional(), reader: endpointSchema.optional() })
    .optional(),
  poolers: z.array(poolerTargetSchema).default([]),
  vpc: vpcSchema.optional(),
  traffic: z
    .strictObject({
      globalAccelerator: z.strictObject({ endpointGroupArn: z.string().regex(ENDPOINT_GROUP_ARN, 'must be a Global Accelerator endpoint group ARN') }).optional(),
      route53: z
        .strictObject({
          hostedZoneId: z.string().regex(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id'),
          recordName: z.string().refine(isSafeHost, 'must be a DNS name'),
          recordType: z.enum(['A', 'AAAA', 'CNAME']).default('A'),
          setIdentifier: z.string().min(1).max(128),
        })
        .optional(),
    })
    .default({}),
});

const weight = z.number().int().min(0).max(100);

export const configSchema = z
  .strictObject({
    globalClusterId: z.string().regex(RDS_IDENTIFIER, 'must be a global cluster identifier'),
    regions: z.record(z.string().regex(AWS_REGION, 'must be an AWS region name'), regionSchema),
    traffic: z
      .strictObject({
        policy: z.enum([TrafficPolicy.None, TrafficPolicy.FollowWriter, TrafficPolicy.DrainUnhealthy]).default(TrafficPolicy.None),
        /** Percent (Global Accelerator traffic dial) and Route 53 weight; 0..100. */
        weights: z.strictObject({ writer: weight.default(100), others: weight.default(100) }).default({ writer: 100, others: 100 }),
        // Bounded below the shift-traffic Lambda's 600 s timeout so the wait for INSYNC can finish inside it.
        route53ChangeTimeoutSeconds: z.number().int().min(5).max(480).default(120),
      })
      .default({ policy: TrafficPolicy.None, weights: { writer: 100, others: 100 }, route53ChangeTimeoutSeconds: 120 }),
    reconcile: z
      .strictObject({
        /** `rate(5 minutes)` (default) or `disabled`. */
        schedule: z.string().regex(SCHEDULE, 'must be rate(N minutes) or disabled').default('rate(5 minutes)'),
        /** How long the workflow waits for the global cluster to settle before failing. */
        stableTimeoutSeconds: z.number().int().min(30).max(3600).default(900),
        pollSeconds: z.number().int().min(1).max(300).default(15),
        /**
         * How long a global cluster that is not `available` (with a single settled writer and no failover in
         * progress) is waited for before writes are routed by it anyway; see docs/outage.md.
         */
        unavailableGraceSeconds: z.number().int().min(0).max(3600).default(120),
      })
      .default({ schedule: 'rate(5 minutes)', stableTimeoutSeconds: 900, pollSeconds: 15, unavailableGraceSeconds: 120 }),
    switchover: z
      .strictObject({
        /** Longest time write aliases stay paused during a manual switchover. */
        pauseBudgetSeconds: z.number().int().min(1).max(300).default(60),
        timeoutSeconds: z.number().int().min(60).max(7200).default(1800),
        /** Run lease: a crashed run's lock is taken over after this. */
        /** Run lock lease: longer than any legitimate run (the switchover state machine times out after 7200 s). */
        lockLeaseSeconds: z.number().int().min(60).max(14400).default(7500),
      })
      .default({ pauseBudgetSeconds: 60, timeoutSeconds: 1800, lockLeaseSeconds: 7500 }),
    notifications: z
      .strictObject({
        snsTopicArn: z.string().regex(SNS_TOPIC_ARN, 'must be an SNS topic ARN'),
        /**
         * The customer managed KMS key that encrypts the topic (SSE), if any: the report functions' roles
         * then get kms:GenerateDataKey and kms:Decrypt on it (through SNS only), or Publish is denied.
         */
        kmsKeyArn: z.string().regex(KMS_KEY_ARN, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)').optional(),
      })
      .optional(),
    /** The stack's CloudWatch alarms (serverless/observability.cjs); they notify notifications.snsTopicArn when it is in the stack's region. */
    alarms: z
      .strictObject({
        /** AuroraGlobalDBRPOLag (ms) of this region's member, while it is a secondary, above which the RPO lag alarm fires. */
        maxRpoLagMs: z.number().int().min(1).max(3_600_000).default(10_000),
      })
      .default({ maxRpoLagMs: 10_000 }),
  })
  .superRefine((config, ctx) => {
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
  });

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
