import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { reportError } from './validation';

/** The suffix used when neither props nor the `environmentSuffix` context give one. */
export const DEFAULT_ENVIRONMENT_SUFFIX = 'dev';

/** The suffix whose resources are retained and protected from deletion. */
export const PRODUCTION_SUFFIX = 'prod';

// Lower-case letters, digits and inner hyphens, at most 12 characters: the suffix ends up in
// bucket-safe names and in the OpenSearch domain name, whose limit (28) is the tightest one.
const SUFFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/;

/**
 * Resolves the environment suffix from props, else the `environmentSuffix` context, else `dev`.
 * A suffix that cannot be used in resource names fails synthesis with a clear message (the default is used
 * meanwhile, so that the other props are still checked).
 */
export function resolveEnvironmentSuffix(scope: Construct, fromProps?: string): string {
  const fromContext = scope.node.tryGetContext('environmentSuffix');
  const suffix = fromProps ?? (fromContext !== undefined ? String(fromContext) : DEFAULT_ENVIRONMENT_SUFFIX);
  if (!SUFFIX_PATTERN.test(suffix)) {
    reportError(scope,
      `environmentSuffix: received '${suffix}'; expected 1-12 lower-case letters, digits or inner hyphens (for example 'dev' or 'prod'), ` +
      'because it becomes part of bucket, job and domain names.');
    return DEFAULT_ENVIRONMENT_SUFFIX;
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
