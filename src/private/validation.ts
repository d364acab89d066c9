import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/*
 * Synth-time checks of user input. Each error names the prop, the value received and what is expected
 * (`prop (snake_case prop): received X; expected Y.`), so a mistake is reported where it is made rather than as a
 * failed deployment.
 *
 * The checks do not throw: they register the error on the construct (CDK's `node.addValidation`), and
 * `app.synth()` reports every error of the app at once, so several wrong props take one run to find.
 * Each check returns whether the value may be used; where CDK itself would reject the value while the
 * construct is built, the caller continues with the default instead, so that construction goes on and the
 * remaining checks still run.
 */

/**
 * Registers `message` as a synth-time error of `scope`. The prop it starts with is named in both spellings users
 * write it in: `dms.replicationInstanceClass (replication_instance_class): ...`, since Python (and the other jsii
 * languages' snake_case users) pass the props as keyword arguments.
 */
export function reportError(scope: IConstruct, message: string): void {
  const named = withSnakeCaseName(message);
  scope.node.addValidation({ validate: () => [named] });
}

/** Adds the snake_case spelling of the prop a message starts with, when it differs from the camelCase one. */
export function withSnakeCaseName(message: string): string {
  return message.replace(/^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*(?=:)/, (path) => {
    const name = path.split('.').pop()!;
    const snake = name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    return snake === name ? path : `${path} (${snake})`;
  });
}

/** Registers `message` unless `valid`; returns `valid`. */
export function requireThat(scope: IConstruct, valid: boolean, message: string): boolean {
  if (!valid) {
    reportError(scope, message);
  }
  return valid;
}

/** Fails unless `value` is an integer within [min, max]; tokens are left for CloudFormation to check. */
export function requireIntegerInRange(scope: IConstruct, prop: string, value: number | undefined, min: number, max: number): boolean {
  if (value === undefined || Token.isUnresolved(value)) {
    return true;
  }
  return requireThat(scope, Number.isInteger(value) && value >= min && value <= max,
    `${prop}: received ${value}; expected a whole number from ${min} to ${max}.`);
}

/** The unit a duration is handed to AWS in; a duration must be a whole number of it. */
export type DurationUnit = 'seconds' | 'minutes' | 'days';

const UNIT_MILLIS: Record<DurationUnit, number> = {
  seconds: Duration.seconds(1).toMilliseconds(),
  minutes: Duration.minutes(1).toMilliseconds(),
  days: Duration.days(1).toMilliseconds(),
};

/**
 * Fails unless the duration lies within [min, max] and is a whole number of `unit` (CDK converts it to
 * that unit, and fails with a message that does not name the prop when it is not whole, e.g. 1500 ms as seconds).
 */
export function requireDurationInRange(scope: IConstruct, prop: string, value: Duration | undefined, min: Duration, max: Duration,
  unit: DurationUnit = 'seconds'): boolean {
  if (value === undefined || value.isUnresolved()) {
    return true;
  }
  const millis = value.toMilliseconds();
  const range = `from ${min.toHumanString()} to ${max.toHumanString()}`;
  if (millis % UNIT_MILLIS[unit] !== 0) {
    reportError(scope, `${prop}: received ${value.toHumanString()}; expected a whole number of ${unit}, ${range}.`);
    return false;
  }
  return requireThat(scope, millis >= min.toMilliseconds() && millis <= max.toMilliseconds(),
    `${prop}: received ${value.toHumanString()}; expected ${range}.`);
}

/** Fails unless `value` matches `pattern`; `expected` says in words what is accepted. */
export function requireMatch(scope: IConstruct, prop: string, value: string | undefined, pattern: RegExp, expected: string): boolean {
  if (value === undefined || Token.isUnresolved(value)) {
    return true;
  }
  return requireThat(scope, pattern.test(value), `${prop}: received '${value}'; expected ${expected}.`);
}

/** Fails unless `value` is one of `allowed`. */
export function requireOneOf(scope: IConstruct, prop: string, value: string | undefined, allowed: readonly string[]): boolean {
  if (value === undefined || Token.isUnresolved(value)) {
    return true;
  }
  return requireThat(scope, allowed.includes(value),
    `${prop}: received '${value}'; expected one of ${allowed.map((a) => `'${a}'`).join(', ')}.`);
}

/** A deliberately simple e-mail check: one '@', a dot in the domain, no spaces. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Fails unless `cidr` is an IPv4 CIDR block whose address is the network address (no host bits set) and whose
 * octets are 0-255 (CDK rejects those with a message that does not name the prop).
 */
export function requireIpv4Cidr(scope: IConstruct, prop: string, cidr: string): boolean {
  if (Token.isUnresolved(cidr)) {
    return true;
  }
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : -1;
  if (!match || octets.some((o) => o > 255) || prefix > 32) {
    return requireThat(scope, false, `${prop}: received '${cidr}'; expected an IPv4 CIDR block such as 10.0.0.0/16.`);
  }
  const address = octets.reduce((acc, octet) => acc * 256 + octet, 0);
  const blockSize = 2 ** (32 - prefix);
  const network = address - (address % blockSize);
  const networkAddress = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
  return requireThat(scope, address === network,
    `${prop}: received '${cidr}', which has host bits set; expected the network address of the block, '${networkAddress}/${prefix}'.`);
}

/** The first and last address of a well-formed IPv4 CIDR block, as numbers. */
function ipv4Range(cidr: string): [number, number] {
  const [address, prefix] = cidr.split('/');
  const start = address.split('.').map(Number).reduce((acc, octet) => acc * 256 + octet, 0);
  const size = 2 ** (32 - Number(prefix));
  const first = start - (start % size);
  return [first, first + size - 1];
}

/** Whether two well-formed IPv4 CIDR blocks share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [aFirst, aLast] = ipv4Range(a);
  const [bFirst, bLast] = ipv4Range(b);
  return aFirst <= bLast && bFirst <= aLast;
}
