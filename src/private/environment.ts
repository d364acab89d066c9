import { Annotations, RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { reportError } from './validation';

/** The suffix used when neither props nor the `environmentSuffix` context give one. */
export const DEFAULT_ENVIRONMENT_SUFFIX = 'dev';

/** The suffix whose resources are retained and protected from deletion. */
export const PRODUCTION_SUFFIX = 'prod';

// At most 12 characters: the OpenSearch domain name 'migration-audit-<suffix>' has the tightest limit (28).
export const MAX_SUFFIX_LENGTH = 12;
// Lower-case letters and digits in groups joined by single hyphens. RDS and DMS identifiers (cluster, replication
// instance, endpoint, task) reject two consecutive hyphens and a trailing hyphen (CreateDBCluster and
// CreateReplicationInstance API references), and the suffix ends every one of them; test/names.test.ts checks
// every name built from it against each service's rule.
const SUFFIX_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Resolves the environment suffix from props, else the `environmentSuffix` context, else `dev`.
 * A suffix that cannot be used in resource names fails synthesis with a clear message (the default is used
 * meanwhile, so that the other props are still checked).
 */
export function resolveEnvironmentSuffix(scope: Construct, fromProps?: string): string {
  const fromContext = scope.node.tryGetContext('environmentSuffix');
  const suffix = fromProps ?? (fromContext !== undefined ? String(fromContext) : DEFAULT_ENVIRONMENT_SUFFIX);
  if (suffix.length > MAX_SUFFIX_LENGTH || !SUFFIX_PATTERN.test(suffix)) {
    reportError(scope,
      `environmentSuffix: received '${suffix}'; expected 1-${MAX_SUFFIX_LENGTH} lower-case letters, digits or single inner hyphens ` +
      "(for example 'dev', 'prod' or 'team-a'), because it ends the RDS, DMS, job and domain names, which allow no '--' and no trailing '-'.");
    return DEFAULT_ENVIRONMENT_SUFFIX;
  }
  return suffix;
}

/** The environment whose data is kept by default and whose DMS instance is multi-AZ by default. */
export function isProduction(suffix: string): boolean {
  return suffix === PRODUCTION_SUFFIX;
}

/**
 * Whether data-holding resources outlive the stack: the `retainData` prop when given, else true for `prod` only.
 * A suffix that reads like production but is not `prod` gets a synth-time warning, because it deletes its data
 * with the stack unless `retainData` says otherwise.
 */
export function resolveRetainData(scope: Construct, suffix: string, retainData?: boolean): boolean {
  if (retainData === undefined && !isProduction(suffix) && /prod/.test(suffix)) {
    Annotations.of(scope).addWarningV2('migration-pipeline:retainData',
      `environmentSuffix '${suffix}' is not '${PRODUCTION_SUFFIX}', so its buckets, database, domain and logs are deleted with the stack; ` +
      'set retainData: true to keep them (or false to silence this warning).');
  }
  return retainData ?? isProduction(suffix);
}

/** What deleting the stack does to the data: whether the data-holding resources are kept, and what Aurora does. */
export interface ResolvedRemoval {
  /** Every data-holding resource is kept (and Aurora protected from deletion). */
  readonly retainData: boolean;
  /** The Aurora cluster's removal policy: RETAIN, SNAPSHOT or DESTROY. */
  readonly databaseRemovalPolicy: RemovalPolicy;
}

const REMOVAL_CHOICES = [RemovalPolicy.RETAIN, RemovalPolicy.SNAPSHOT, RemovalPolicy.DESTROY];

/**
 * `removalPolicy` wins over `retainData`, its older yes/no form (true = RETAIN, false = DESTROY): RETAIN keeps every
 * data-holding resource, SNAPSHOT deletes them like DESTROY except that Aurora takes a final snapshot first. Both
 * given and contradicting each other is reported. Without either, `retainData`'s default applies.
 */
export function resolveRemoval(scope: Construct, suffix: string, retainData?: boolean, removalPolicy?: RemovalPolicy): ResolvedRemoval {
  if (removalPolicy === undefined) {
    const retain = resolveRetainData(scope, suffix, retainData);
    return { retainData: retain, databaseRemovalPolicy: removalPolicyFor(retain) };
  }
  if (!REMOVAL_CHOICES.includes(removalPolicy)) {
    reportError(scope, `removalPolicy: received '${removalPolicy}'; expected RemovalPolicy.RETAIN, RemovalPolicy.SNAPSHOT or RemovalPolicy.DESTROY.`);
    const retain = resolveRetainData(scope, suffix, retainData);
    return { retainData: retain, databaseRemovalPolicy: removalPolicyFor(retain) };
  }
  const retain = removalPolicy === RemovalPolicy.RETAIN;
  if (retainData !== undefined && retainData !== retain) {
    reportError(scope, `retainData: received ${retainData} with removalPolicy '${removalPolicy}'; expected only one of them, ` +
      `or retainData ${retain}: removalPolicy ${retain ? 'RETAIN keeps' : `${removalPolicy} does not keep`} the data-holding resources.`);
  }
  return { retainData: retain, databaseRemovalPolicy: removalPolicy };
}

/** RETAIN when data is kept, DESTROY otherwise. */
export function removalPolicyFor(retainData: boolean): RemovalPolicy {
  return retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}
