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

describe('README "Adapting it"', () => {
  test('has the ten adaptations', () => {
    expect(examples.map((e) => e.title)).toEqual([
      '1. Defaults', '2. Your own VPC', '3. Production settings', '4. Your own source database and secret',
      '5. No DataSync agent', '6. Your own Glue rules', '7. Two environments', '8. Wiring your own resources',
      '9. A permissions boundary', '10. Deliberately wrong inputs',
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
