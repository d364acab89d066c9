import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';

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
 * Resolves the environment suffix from props, else the `environmentSuffix` context, else `dev`,
 * and fails synthesis with a clear message when it cannot be used in resource names.
 */
export function resolveEnvironmentSuffix(scope: Construct, fromProps?: string): string {
  const fromContext = scope.node.tryGetContext('environmentSuffix');
  const suffix = fromProps ?? (fromContext !== undefined ? String(fromContext) : DEFAULT_ENVIRONMENT_SUFFIX);
  if (suffix.length > MAX_SUFFIX_LENGTH || !SUFFIX_PATTERN.test(suffix)) {
    throw new Error(
      `environmentSuffix: received '${suffix}'; expected 1-${MAX_SUFFIX_LENGTH} lower-case letters, digits or single inner hyphens ` +
      "(for example 'dev', 'prod' or 'team-a'), because it ends the RDS, DMS, job and domain names, which allow no '--' and no trailing '-'.",
    );
  }
  return suffix;
}

/** Production environments keep their data when the stack is deleted. */
export function isProduction(suffix: string): boolean {
  return suffix === PRODUCTION_SUFFIX;
}

/** RETAIN for prod, DESTROY for every other environment (the spec's rule). */
export function removalPolicyFor(suffix: string): RemovalPolicy {
  return isProduction(suffix) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}
