import { Duration, Token } from 'aws-cdk-lib';

/*
 * Synth-time checks of user input. Each error names the prop, the value received and what is expected,
 * so a mistake is reported where it is made rather than as a failed deployment.
 */

/** Fails unless `value` is an integer within [min, max]; tokens are left for CloudFormation to check. */
export function requireIntegerInRange(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${prop}: received ${value}; expected a whole number from ${min} to ${max}.`);
  }
}

/** Fails unless the duration lies within [min, max] (compared in seconds). */
export function requireDurationInRange(prop: string, value: Duration | undefined, min: Duration, max: Duration): void {
  if (value === undefined || value.isUnresolved()) {
    return;
  }
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new Error(`${prop}: received ${value.toHumanString()}; expected from ${min.toHumanString()} to ${max.toHumanString()}.`);
  }
}

/** Fails unless `value` matches `pattern`; `expected` says in words what is accepted. */
export function requireMatch(prop: string, value: string | undefined, pattern: RegExp, expected: string): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (!pattern.test(value)) {
    throw new Error(`${prop}: received '${value}'; expected ${expected}.`);
  }
}

/** Fails unless `value` is one of `allowed`. */
export function requireOneOf(prop: string, value: string | undefined, allowed: readonly string[]): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (!allowed.includes(value)) {
    throw new Error(`${prop}: received '${value}'; expected one of ${allowed.map((a) => `'${a}'`).join(', ')}.`);
  }
}

/** A deliberately simple e-mail check: one '@', a dot in the domain, no spaces. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
