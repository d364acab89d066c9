import * as fs from 'fs';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { synthPipeline } from './pipeline-fixture';

const runtimeFile = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'src', 'runtime', name), 'utf-8');

describe('the templates carry exactly the runtime code the tests execute', () => {
  const fx = synthPipeline();

  test.each([
    ['migration-glue-trigger-dev', 'glue_trigger.py'],
    ['migration-sfn-trigger-dev', 'step_function_trigger.py'],
    ['migration-remediation-dev', 'remediation.py'],
  ])('%s inlines %s', (functionName, file) => {
    const functions = Object.values(fx.nested('LambdaStack').findResources('AWS::Lambda::Function')) as any[];
    const fn = functions.find((f) => f.Properties.FunctionName === functionName);
    expect(fn.Properties.Code.ZipFile).toBe(runtimeFile(file));
  });

  test('the table-review function inlines table_review.py', () => {
    const functions = Object.values(fx.nested('OrchestrationStack').findResources('AWS::Lambda::Function')) as any[];
    const fn = functions.find((f) => f.Properties.FunctionName === 'migration-table-review-dev');
    expect(fn.Properties.Code.ZipFile).toBe(runtimeFile('table_review.py'));
  });

  test('the activation function inlines datasync_activation.js', () => {
    const functions = Object.values(fx.nested('DataSyncStack').findResources('AWS::Lambda::Function')) as any[];
    const fn = functions.find((f) => f.Properties.Runtime === 'nodejs24.x');
    expect(fn.Properties.Code.ZipFile).toBe(runtimeFile('datasync_activation.js'));
  });

  test('the Glue script deployed to scripts/ is validate.py, byte for byte', () => {
    const assembly = (fx.stack.node.root as App).synth();
    const staged = fs.readdirSync(assembly.directory)
      .filter((entry) => entry.startsWith('asset.'))
      .map((entry) => path.join(assembly.directory, entry, 'validate.py'))
      .filter((file) => fs.existsSync(file));
    expect(staged).toHaveLength(1);
    expect(fs.readFileSync(staged[0], 'utf-8')).toBe(runtimeFile('validate.py'));
    fx.nested('GlueStack').hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'scripts/' });
  });
});
