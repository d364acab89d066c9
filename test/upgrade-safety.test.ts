import * as fs from 'fs';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';
import { App, CustomResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MigrationPipelineProps } from '../src';
import { NESTED_STACK_NAMES, synthPipeline } from './pipeline-fixture';
import { TemplateJson, upgradeSafetyFindings } from './upgrade-safety';

/** Every template of one pipeline, by stack name. */
function pipelineTemplates(props: MigrationPipelineProps): Record<string, TemplateJson> {
  const fx = synthPipeline(props);
  return Object.fromEntries([['root', fx.root.toJSON()], ...NESTED_STACK_NAMES
    .filter((name) => fx.pipeline.nestedStacks[name] !== undefined)
    .map((name) => [name, fx.nested(name).toJSON()])]);
}

describe('every custom resource handler has its permissions before it runs, on create and on update', () => {
  test('the example app (cdk.out)', () => {
    const out = path.join(__dirname, '..', 'cdk.out');
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.template.json'));
    // The example app has its root stack and eleven nested stacks (run `npx cdk synth` first).
    expect(files.length).toBeGreaterThanOrEqual(12);
    const templates = Object.fromEntries(files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'))]));
    expect(upgradeSafetyFindings(templates)).toEqual([]);
  });

  test.each<[string, MigrationPipelineProps]>([
    ['defaults', {}],
    ['a full-load task, data removed with the stack', { dms: { migrationType: 'full-load' }, retainData: false }],
    ['a cdc task with secret rotation', { dms: { migrationType: 'cdc' }, database: { enableSecretRotation: true } }],
  ])('MigrationPipeline: %s', (_name, props) => {
    expect(upgradeSafetyFindings(pipelineTemplates(props))).toEqual([]);
  });
});

describe('the check finds what it is for', () => {
  /** A handler whose extra policy names a resource that waits for the custom resource (the shape of a stop guard). */
  function guardShaped(waitForPolicy: boolean): TemplateJson {
    const stack = new Stack(new App(), 'Guard');
    const fn = new lambda.Function(stack, 'Handler', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'index.handler', code: lambda.Code.fromInline('def handler(e, c): pass'),
    });
    const resource = new CustomResource(stack, 'Guard', { serviceToken: fn.functionArn });
    const guarded = new sqs.Queue(stack, 'Guarded');
    guarded.node.addDependency(resource);
    const policy = new iam.Policy(stack, 'GuardedPolicy', {
      roles: [fn.role!],
      statements: [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [guarded.queueArn] })],
    });
    if (waitForPolicy) {
      resource.node.addDependency(policy);
    }
    return stackTemplate(stack);
  }

  function stackTemplate(stack: Stack): TemplateJson {
    return stack.node.root instanceof App ? (stack.node.root as App).synth().getStackByName(stack.stackName).template : {};
  }

  test('a policy of the handler that depends on the custom resource', () => {
    const findings = upgradeSafetyFindings({ guard: guardShaped(false) });
    expect(findings).toEqual([
      expect.stringMatching(/^guard: Guard[0-9A-F]* does not wait for GuardedPolicy[0-9A-F]+, a policy of its handler Handler/),
      expect.stringMatching(/^guard: GuardedPolicy[0-9A-F]+, a policy of the handler Handler[0-9A-F]+ of Guard[0-9A-F]*, depends on Guard/),
    ]);
  });

  test('a handler policy the custom resource does not wait for', () => {
    const stack = new Stack(new App(), 'Loose');
    const fn = new lambda.Function(stack, 'Handler', {
      runtime: lambda.Runtime.PYTHON_3_12, handler: 'index.handler', code: lambda.Code.fromInline('def handler(e, c): pass'),
    });
    new CustomResource(stack, 'Resource', { serviceToken: fn.functionArn });
    new iam.Policy(stack, 'Late', { roles: [fn.role!], statements: [new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] })] });
    expect(upgradeSafetyFindings({ loose: stackTemplate(stack) })).toEqual([
      expect.stringMatching(/^loose: Resource[0-9A-F]* does not wait for Late[0-9A-F]+/),
    ]);
  });
});
