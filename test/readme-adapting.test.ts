/**
 * The README's "Adapting it" section: every TypeScript block is an app file, and each is synthesized here as it is
 * written (imports of 'cdk-migration-pipeline' resolve to this library). A block followed by a `text` block must
 * fail synthesis with each line of that text in the error.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { describe, expect, test } from '@jest/globals';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as constructs from 'constructs';
import * as ts from 'typescript';
import * as library from '../src';

/** The modules an example may import, as the example names them. */
const MODULES: Record<string, unknown> = {
  'aws-cdk-lib': cdk,
  'aws-cdk-lib/aws-cloudwatch': cloudwatch,
  'aws-cdk-lib/aws-cloudwatch-actions': cloudwatchActions,
  'aws-cdk-lib/aws-ec2': ec2,
  'aws-cdk-lib/aws-iam': iam,
  'aws-cdk-lib/aws-logs': logs,
  'aws-cdk-lib/aws-secretsmanager': secretsmanager,
  'aws-cdk-lib/aws-sns': sns,
  'constructs': constructs,
  'cdk-migration-pipeline': library,
};

interface Example {
  readonly title: string;
  /** The whole subsection: its prose and blocks. */
  readonly text: string;
  readonly code: string;
  /** The lines the synthesis error must contain, when the example shows one. */
  readonly expectedError?: string[];
}

/** The `### ` subsections of `## Adapting it`, each with its ts block and the text block after it, if any. */
function readExamples(): Example[] {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Adapting it\n'));
  if (!section) {
    throw new Error('README.md has no "## Adapting it" section');
  }
  return section.split(/^### /m).slice(1).map((part) => {
    const blocks = [...part.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)];
    const code = blocks.filter((b) => b[1] === 'ts');
    if (code.length !== 1) {
      throw new Error(`"${part.split('\n')[0]}" has ${code.length} ts blocks; expected 1`);
    }
    const text = blocks.find((b) => b[1] === 'text');
    return {
      title: part.split('\n')[0],
      text: part,
      code: code[0][2],
      expectedError: text?.[2].split('\n').map((line) => line.trim()).filter(Boolean),
    };
  });
}

/** Runs an example as an app file and returns the apps it created (every one it synthesized). */
function runExample(code: string): cdk.App[] {
  const { outputText } = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const requireModule = (name: string) => {
    if (!(name in MODULES)) {
      throw new Error(`the example imports '${name}', which this test does not provide`);
    }
    return MODULES[name];
  };
  const apps: cdk.App[] = [];
  const synthesized = new Set<cdk.App>();
  // The example's `new App()` is this App, which remembers each app and whether the example synthesized it.
  class RecordingApp extends cdk.App {
    constructor(props?: cdk.AppProps) {
      super(props);
      apps.push(this);
    }
    public synth(options?: cdk.StageSynthesisOptions) {
      synthesized.add(this);
      return super.synth(options);
    }
  }
  const moduleWithRecordingApp = (name: string) => (name === 'aws-cdk-lib' ? { ...cdk, App: RecordingApp } : requireModule(name));
  new Function('require', 'exports', 'module', outputText)(moduleWithRecordingApp, {}, { exports: {} });
  expect(apps.length).toBeGreaterThan(0);
  expect(apps.every((app) => synthesized.has(app))).toBe(true);
  return apps;
}

const examples = readExamples();
const byTitle = (prefix: string) => examples.find((e) => e.title.startsWith(prefix))!;

/** The one pipeline an example app holds. */
function pipelineOf(app: cdk.App): library.MigrationPipeline {
  const pipelines = app.node.findAll().filter((c): c is library.MigrationPipeline => c instanceof library.MigrationPipeline);
  expect(pipelines).toHaveLength(1);
  return pipelines[0];
}

/** Every resource of every stack of an app (nested stacks included), with the stack's path. */
function resourcesOf(app: cdk.App): { stack: string; id: string; resource: any }[] {
  const stacks = app.node.findAll().filter((c): c is cdk.Stack => cdk.Stack.isStack(c));
  return stacks.flatMap((stack) => Object.entries(Template.fromStack(stack).toJSON().Resources ?? {})
    .map(([id, resource]) => ({ stack: stack.node.path, id, resource: resource as any })));
}

/** The inline outbound rules of the network stack's security group whose description starts with `description`. */
function egressOf(pipeline: library.MigrationPipeline, description: string): string[] {
  const groups = Object.values(Template.fromStack(pipeline.nestedStacks.NetworkStack).findResources('AWS::EC2::SecurityGroup'))
    .filter((g) => g.Properties.GroupDescription.startsWith(description));
  expect(groups).toHaveLength(1);
  return groups[0].Properties.SecurityGroupEgress.map((r: any) => `${r.IpProtocol} ${r.CidrIp} ${r.FromPort ?? ''}`.trim()).sort();
}

describe('README "Adapting it"', () => {
  test('has the eleven adaptations', () => {
    expect(examples.map((e) => e.title)).toEqual([
      '1. Defaults', '2. Your own VPC', '3. Production settings', '4. Your own source database and secret',
      '5. No DataSync agent', '6. Your own Glue rules', '7. Two environments', '8. Wiring your own resources',
      '9. A permissions boundary', '10. Deliberately wrong inputs', '11. Into a target you loaded yourself (CDC only)',
    ]);
  });

  // Examples 7, 9 and 10 have tests of their own below.
  const plain = examples.filter((e) => !/^(7|9|10)\./.test(e.title));
  test.each(plain.map((e) => [e.title, e] as const))('%s synthesizes', (_title, example) => {
    const [app] = runExample(example.code);
    expect(app.node.findAll().filter((c) => c instanceof library.MigrationPipeline)).toHaveLength(1);
  });

  test('every example type-checks against the library (as a user\'s compiler would see it)', () => {
    const root = join(__dirname, '..');
    const files = new Map(examples.map((e, i) => [join(root, `readme-example-${i + 1}.ts`), e.code]));
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      skipLibCheck: true,
      types: [],
      baseUrl: root,
      paths: { 'cdk-migration-pipeline': ['src/index.ts'] },
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
    host.readFile = (name) => files.get(name) ?? readFile(name);
    host.getSourceFile = (name, version) =>
      (files.has(name) ? ts.createSourceFile(name, files.get(name)!, version) : getSourceFile(name, version));
    const program = ts.createProgram([...files.keys()], options, host);
    const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.has(d.file.fileName))
      .map((d) => `${d.file!.fileName.slice(root.length + 1)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(errors).toEqual([]);
  });

  describe('3. Production settings', () => {
    const [app] = runExample(byTitle('3.').code);
    const pipeline = pipelineOf(app);
    const resources = resourcesOf(app);
    const ofType = (type: string) => resources.filter((r) => r.resource.Type === type);

    /** Aurora's deletion and replacement policies and deletion protection, and the buckets not retained. */
    const removal = (exampleResources: typeof resources) => ({
      clusters: exampleResources.filter((r) => r.resource.Type === 'AWS::RDS::DBCluster')
        .map((r) => [r.resource.DeletionPolicy, r.resource.UpdateReplacePolicy, r.resource.Properties.DeletionProtection]),
      bucketsNotRetained: exampleResources.filter((r) => r.resource.Type === 'AWS::S3::Bucket' && r.resource.DeletionPolicy !== 'Retain').map((r) => r.id),
    });

    test('Aurora is kept on delete and protected from deletion (RETAIN), as are the buckets', () => {
      expect(ofType('AWS::S3::Bucket').length).toBeGreaterThanOrEqual(3);
      expect(removal(resources)).toEqual({ clusters: [['Retain', 'Retain', true]], bucketsNotRetained: [] });
    });

    test('the data stays kept under another suffix (removalPolicy, not the name prod, decides)', () => {
      const renamed = byTitle('3.').code.replace("environmentSuffix: 'prod',", "environmentSuffix: 'prod-eu',");
      expect(renamed).not.toBe(byTitle('3.').code);
      const [renamedApp] = runExample(renamed);
      expect(pipelineOf(renamedApp).environmentSuffix).toBe('prod-eu');
      expect(removal(resourcesOf(renamedApp))).toEqual({ clusters: [['Retain', 'Retain', true]], bucketsNotRetained: [] });
    });

    test('the master secret rotates every 30 days', () => {
      const schedules = ofType('AWS::SecretsManager::RotationSchedule');
      expect(schedules.map((r) => [r.stack, r.resource.Properties.RotationRules.ScheduleExpression]))
        .toEqual([['Migration/Pipeline/DatabaseStack', 'rate(30 days)']]);
    });

    test('alarms go to the on-call address, run outcomes to the data team', () => {
      const messaging = cdk.Stack.of(pipeline.messaging);
      const topicRef = (topic: sns.ITopic) => JSON.stringify(messaging.resolve(topic.topicArn));
      const subscriptions = ofType('AWS::SNS::Subscription').filter((r) => r.resource.Properties.Protocol === 'email')
        .map((r) => [JSON.stringify(r.resource.Properties.TopicArn), r.resource.Properties.Protocol, r.resource.Properties.Endpoint]);
      expect(subscriptions.sort()).toEqual([
        [topicRef(pipeline.messaging.alertTopic), 'email', 'oncall@example.com'],
        [topicRef(pipeline.messaging.validationTopic), 'email', 'data-team@example.com'],
      ].sort());
    });

    test('the CDC latency alarms fire at 900 s of lag', () => {
      const cdcAlarms = ofType('AWS::CloudWatch::Alarm').filter((r) => /^CDCLatency/.test(r.resource.Properties.MetricName ?? ''))
        .map((r) => [r.resource.Properties.MetricName, r.resource.Properties.Threshold]);
      expect(cdcAlarms.sort()).toEqual([['CDCLatencySource', 900], ['CDCLatencyTarget', 900]]);
    });

    test('every log group of every nested stack keeps its events for ten years', () => {
      const groups = ofType('AWS::Logs::LogGroup');
      expect(groups.length).toBeGreaterThan(10);
      expect(groups.filter((r) => r.resource.Properties.RetentionInDays !== 3653).map((r) => `${r.stack}/${r.id}`)).toEqual([]);
    });
  });

  describe('4. Your own source database and secret', () => {
    const example = byTitle('4.');
    const [app] = runExample(example.code);
    const pipeline = pipelineOf(app);

    test('DMS reaches the source port (3307) in the on-premises range only; HTTPS to AWS APIs anywhere', () => {
      expect(egressOf(pipeline, 'DMS')).toEqual(['tcp 0.0.0.0/0 443', 'tcp 192.168.0.0/16 3307']);
    });

    test('the DataSync agent reaches HTTPS and the NFS and SMB ports of the range, not everything', () => {
      expect(egressOf(pipeline, 'DataSync agent')).toEqual(['tcp 0.0.0.0/0 443', 'tcp 192.168.0.0/16 2049', 'tcp 192.168.0.0/16 445']);
    });

    test('the pipeline creates no source secret of its own', () => {
      const secrets = resourcesOf(app).filter((r) => r.resource.Type === 'AWS::SecretsManager::Secret').map((r) => r.stack);
      expect(secrets).toEqual(['Migration/Pipeline/DatabaseStack']);
    });

    test('with a host name besides the secret, it fails with the message the README quotes', () => {
      const quoted = /fails at synth with\s+`([^`]+)`/.exec(example.text)?.[1];
      expect(quoted).toBe('dms.sourceSecret (source_secret): received together with dms.sourceHostname; expected one or the other');
      const withHost = example.code.replace('sourceSecret,', "sourceSecret,\n    sourceHostname: 'db.corp.example.com',");
      expect(withHost).not.toBe(example.code);
      expect(() => runExample(withHost)).toThrow(quoted!);
    });
  });

  describe('5. No DataSync agent', () => {
    const [app] = runExample(byTitle('5.').code);
    const pipeline = pipelineOf(app);
    const resources = resourcesOf(app);

    test('there is no DataSyncStack, no DataSync resource and no agent instance', () => {
      expect(Object.keys(pipeline.nestedStacks)).not.toContain('DataSyncStack');
      expect(resources.filter((r) => /DataSyncStack/.test(r.id) || /DataSyncStack/.test(r.stack)).map((r) => `${r.stack}/${r.id}`)).toEqual([]);
      const types = resources.map((r) => r.resource.Type as string);
      expect(types.filter((t) => /^(AWS|Custom)::DataSync/.test(t) || t === 'AWS::EC2::Instance')).toEqual([]);
      expect(pipeline.dataSyncLocationArn).toBeUndefined();
    });

    test('the Transfer Family role may upload under incoming/ only', () => {
      const policies = resources.filter((r) => r.resource.Type === 'AWS::IAM::Policy'
        && JSON.stringify(r.resource.Properties.Roles).includes('TransferUserRole'));
      expect(policies).toHaveLength(1);
      const s3 = policies[0].resource.Properties.PolicyDocument.Statement.filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('s3:')));
      expect(s3.map((st: any) => [[st.Action].flat().sort(), JSON.stringify(st.Resource)])).toEqual([
        [['s3:AbortMultipartUpload', 's3:PutObject'], expect.stringMatching(/"\/incoming\/\*"\]\]\}$/)],
      ]);
    });
  });

  test('the wrong inputs fail with the errors the README shows', () => {
    const example = byTitle('10.');
    expect(example.expectedError?.length).toBeGreaterThanOrEqual(3);
    let error: unknown;
    try {
      runExample(example.code);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    for (const line of example.expectedError!) {
      expect((error as Error).message).toContain(line);
    }
  });

  test('the permissions boundary reaches every role of every nested stack', () => {
    const [app] = runExample(byTitle('9.').code);
    const stacks = app.node.findAll().filter((c): c is cdk.Stack => cdk.Stack.isStack(c));
    expect(stacks.filter((s) => s.nested)).toHaveLength(11);
    const roles = stacks.flatMap((s) => Object.entries(Template.fromStack(s).findResources('AWS::IAM::Role'))
      .map(([id, role]) => [`${s.node.path}/${id}`, role.Properties.PermissionsBoundary] as const));
    expect(roles.length).toBeGreaterThan(20);
    for (const [path, boundary] of roles) {
      expect({ path, boundary: JSON.stringify(boundary) }).toEqual({ path, boundary: expect.stringMatching(/:policy\/data-platform-boundary"/) });
    }
  });

  test('two environments give two pipelines with their own names', () => {
    const [app] = runExample(byTitle('7.').code);
    const pipelines = app.node.findAll().filter((c): c is library.MigrationPipeline => c instanceof library.MigrationPipeline);
    expect(pipelines.map((p) => [cdk.Stack.of(p).account, p.environmentSuffix, p.glueJobName])).toEqual([
      ['111111111111', 'dev', 'migration-validation-dev'],
      ['222222222222', 'prod', 'migration-validation-prod'],
    ]);
    expect(app.synth().stacks.map((s) => s.stackName)).toEqual(['Migration-dev', 'Migration-prod']);
  });
});
