import * as fs from 'fs';
import * as path from 'path';
import { describe, test, expect, beforeAll, jest } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { MigrationPipeline } from '../src';

/*
 * What a user sees on every synth of an environment-agnostic app must not come from the library: no deprecation
 * warnings (jsii prints them for deprecated aws-cdk-lib APIs; JSII_DEPRECATED=fail turns them into errors), no
 * warning annotations, and no unused template mappings (cfn-lint W7001, "Mappings", CloudFormation User Guide).
 */
describe('an environment-agnostic app synthesizes without warnings from the library', () => {
  let assembly: cxapi.CloudAssembly;
  let stackAddDependencyCalls = 0;
  const printed: string[] = [];

  beforeAll(() => {
    // Counts the calls made by the library itself (CDK's own classes may still call it internally).
    const original = Stack.prototype.addDependency;
    Stack.prototype.addDependency = function (this: Stack, ...args: Parameters<Stack['addDependency']>) {
      const caller = new Error().stack!.split('\n')[2] ?? '';
      if (caller.includes(`${path.sep}src${path.sep}`) && !caller.includes('node_modules')) {
        stackAddDependencyCalls++;
      }
      return original.apply(this, args);
    };
    const warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      printed.push(args.join(' '));
    });
    const previous = process.env.JSII_DEPRECATED;
    process.env.JSII_DEPRECATED = 'fail';
    try {
      const app = new App();
      new MigrationPipeline(new Stack(app, 'Agnostic'), 'Pipeline');
      assembly = app.synth();
    } finally {
      if (previous === undefined) {
        delete process.env.JSII_DEPRECATED;
      } else {
        process.env.JSII_DEPRECATED = previous;
      }
      Stack.prototype.addDependency = original;
      warn.mockRestore();
    }
  });

  test('no deprecated API is used (Stack#addDependency is deprecated in newer aws-cdk-lib)', () => {
    expect(stackAddDependencyCalls).toBe(0);
    expect(printed.filter((line) => /deprecated/i.test(line))).toEqual([]);
  });

  test('no warning annotations', () => {
    const warnings = assembly.stacks.flatMap((stack) => stack.messages)
      .filter((message) => message.level === 'warning')
      .map((message) => `${message.id}: ${JSON.stringify(message.entry.data)}`);
    expect(warnings).toEqual([]);
  });

  test('every mapping of every template (root and nested) is used', () => {
    const templates = fs.readdirSync(assembly.directory).filter((file) => file.endsWith('.template.json'));
    expect(templates.length).toBe(12);
    const unused: string[] = [];
    for (const file of templates) {
      const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, file), 'utf-8'));
      const text = JSON.stringify({ ...template, Mappings: undefined });
      for (const name of Object.keys(template.Mappings ?? {})) {
        if (!text.includes(`{"Fn::FindInMap":["${name}"`)) {
          unused.push(`${file}: ${name}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });
});

describe('the audit delivery stream', () => {
  test('still offers its connections (Firehose\'s CIDR block): once they are used, the mapping is back, and used', () => {
    const app = new App();
    const pipeline = new MigrationPipeline(new Stack(app, 'Agnostic'), 'Pipeline');
    const ingress = new ec2.SecurityGroup(pipeline.nestedStacks.LoggingStack, 'FromFirehose', { vpc: pipeline.network.vpc });
    ingress.connections.allowFrom(pipeline.logging.auditDeliveryStream, ec2.Port.tcp(443));
    const withRule = Template.fromStack(pipeline.nestedStacks.LoggingStack).toJSON();
    const [mapping] = Object.keys(withRule.Mappings ?? {});
    expect(mapping).toMatch(/CidrBlocks/);
    expect(JSON.stringify(withRule.Resources)).toContain(`{"Fn::FindInMap":["${mapping}"`);
  });
});
