import { describe, test, expect } from '@jest/globals';
import { App, PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { TapStack } from '../integ/tap-stack';

/** Every finding of a pack as `rule  construct-path`, so a failure shows exactly what is new. */
function findings(report: PolicyValidationPluginReport): string[] {
  return report.violations.flatMap((violation) => violation.violatingResources.map((resource) =>
    `${violation.ruleName}  ${(resource as { constructPath?: string }).constructPath ?? resource.resourceLogicalId}`));
}

/** Every acknowledgement as `rule  construct-path` with its reason (the last metadata entry of a construct holds them all). */
function acknowledgements(app: App): Array<[string, string]> {
  return app.node.findAll().flatMap((construct) => {
    const entries = construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
    const latest = (entries.pop()?.data ?? {}) as Record<string, string>;
    return Object.entries(latest).map(([rule, reason]): [string, string] => [`${rule}  ${construct.node.path}`, reason]);
  });
}

// Reviewed in the README's Security section; a new acknowledgement is a security decision and changes both.
const REVIEWED_ACKNOWLEDGEMENTS = 145;

describe('cdk-nag on the example app', () => {
  const app = new App();
  new TapStack(app, 'TapStack');
  // Synthesis first: construct validations (which compute the wildcard acknowledgements) run during it.
  app.synth();

  test.each([
    ['AwsSolutions', new AwsSolutionsChecks()],
    ['NIST 800-53 rev 5', new NIST80053R5Checks()],
  ])('%s: no unacknowledged finding', (_name, pack) => {
    expect(findings(pack.validateScope(app))).toEqual([]);
  });

  test('every acknowledgement carries a reason', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const [, reason] of acks) {
      expect(reason.length).toBeGreaterThan(30);
    }
  });

  test('the acknowledgements stay the reviewed ones', () => {
    // A new acknowledgement is a security decision: this count changes only with the README's Security section.
    expect(acknowledgements(app).length).toBe(REVIEWED_ACKNOWLEDGEMENTS);
  });
});
