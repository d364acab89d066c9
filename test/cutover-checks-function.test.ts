import { describe, expect, test } from '@jest/globals';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CutoverChecksFunction } from '../src/private/cutover-checks-function';

/* The function's template: credentials only as secret ARNs, reads limited to the two secrets, S3 to the prefix. */

function synth(sourceCidrs?: string[]): Template {
  const stack = new Stack(new App(), 'Checks');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  new CutoverChecksFunction(stack, 'Cutover', {
    functionName: 'migration-cutover-checks-dev',
    vpc,
    targetSecurityGroup: new ec2.SecurityGroup(stack, 'Aurora', { vpc }),
    sourcePort: 3307,
    sourceCidrs,
    sourceSecret: new secretsmanager.Secret(stack, 'Source'),
    targetSecret: new secretsmanager.Secret(stack, 'Target'),
    controlSchema: 'awsdms_control',
    reportBucket: new s3.Bucket(stack, 'Reports'),
    reviewPrefix: 'reports/migrations/',
    reportPrefix: 'reports/cutovers/',
    logRetention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return Template.fromStack(stack);
}

describe('the cutover checks function', () => {
  const template = synth(['10.20.0.0/16']);

  test('names the secrets by ARN in its environment, never their values', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }))[0];
    const variables = fn.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual(['CONTROL_SCHEMA', 'REPORT_BUCKET', 'REPORT_PREFIX', 'SOURCE_SECRET_ARN', 'TARGET_SECRET_ARN']);
    expect(variables.SOURCE_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^Source/) });
    expect(variables.TARGET_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^Target/) });
    expect(JSON.stringify(fn)).not.toMatch(/password/i);
  });

  test('reads exactly the two secrets and writes only under its prefix', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
    const secretReads = statements.filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretReads.map((s: any) => s.Resource).sort((a: any, b: any) => a.Ref.localeCompare(b.Ref)))
      .toEqual([{ Ref: expect.stringMatching(/^Source/) }, { Ref: expect.stringMatching(/^Target/) }]);
    const s3Statements = statements.filter((s: any) => [s.Action].flat().some((action: string) => action.startsWith('s3:')));
    expect(s3Statements.map((s: any) => [s.Action, JSON.stringify(s.Resource).match(/\/reports\/\w+\/\*/)?.[0]]))
      .toEqual([['s3:GetObject', '/reports/migrations/*'], ['s3:PutObject', '/reports/cutovers/*']]);
  });

  test('reaches Aurora on 3306 and the source only on its port in its ranges, nothing else but HTTPS', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Cutover checks') } });
    const [group] = Object.values(groups) as any[];
    expect(group.Properties.SecurityGroupEgress.map((rule: any) => [rule.CidrIp, rule.FromPort, rule.ToPort]).sort())
      .toEqual([['0.0.0.0/0', 443, 443], ['10.20.0.0/16', 3307, 3307]]);
    const [toAurora] = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')) as any[];
    expect([toAurora.Properties.FromPort, toAurora.Properties.ToPort]).toEqual([3306, 3306]);
  });
});
