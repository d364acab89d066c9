import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { afterAll, describe, expect, test } from '@jest/globals';
import { differences, templatesOf } from './bindings/compare-templates';

/*
 * The comparison that `npx projen test:bindings` runs over the templates of the TypeScript, Python, Java and Go
 * apps, on small hand-written assemblies: only the language runtime's analytics entry and the nested template hash
 * that follows from it may differ; anything else is reported with its path.
 */

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bindings-comparison-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const analytics = (constructs: string, runtime: string) =>
  `v2:deflate64:${zlib.gzipSync(`2.257.0!aws-cdk-lib.{Stack,${constructs}},${runtime}!jsii-runtime.Runtime`).toString('base64')}`;

interface AssemblyOptions {
  readonly runtime: string;
  readonly constructs?: string;
  readonly queueName?: string;
  /** The hash the root template's TemplateURL names (by default the nested template's own). */
  readonly urlHash?: string;
  /** Whether the root stack holds its nested stack. @default true */
  readonly nested?: boolean;
}

let assemblies = 0;
/** A cloud assembly with a root stack holding one nested stack, as `cdk synth` writes it. */
function assembly(options: AssemblyOptions): string {
  const dir = path.join(scratch, `assembly-${assemblies++}`);
  fs.mkdirSync(dir);
  const write = (file: string, content: object) => fs.writeFileSync(path.join(dir, file), JSON.stringify(content));
  const metadata = (constructs: string) => ({ Type: 'AWS::CDK::Metadata', Properties: { Analytics: analytics(constructs, options.runtime) } });
  const nested = {
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: options.queueName ?? 'dead-letters-prod' } },
      CDKMetadata: metadata('aws_sqs.{Queue,CfnQueue}'),
    },
  };
  const nestedFile = 'MigrationPipelineMessagingStack0123ABCD.nested.template.json';
  const nestedHash = `${options.runtime.length}`.padStart(64, 'a');
  write(nestedFile, nested);
  const nestedStack = {
    Type: 'AWS::CloudFormation::Stack',
    Metadata: { 'aws:asset:path': nestedFile },
    Properties: { TemplateURL: { 'Fn::Join': ['', ['https://s3.us-west-2.amazonaws.com/assets/', `${options.urlHash ?? nestedHash}.json`]] } },
  };
  write('Migration.template.json', {
    Resources: {
      ...(options.nested === false ? {} : { MessagingStackResource: nestedStack }),
      CDKMetadata: metadata(options.constructs ?? 'CfnStack'),
    },
  });
  write('Migration.assets.json', { files: { [nestedHash]: { source: { path: nestedFile, packaging: 'file' } } } });
  write('manifest.json', { artifacts: { Migration: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Migration.template.json' } } } });
  return dir;
}

const ROOT = 'Migration';
const NESTED = 'Migration/MessagingStackResource';

function compare(reference: string, app: string): Record<string, string[]> {
  const expected = templatesOf(reference);
  const actual = templatesOf(app);
  return Object.fromEntries([...expected.keys()].map((logicalPath) =>
    [logicalPath, differences(expected.get(logicalPath)!, actual.get(logicalPath)!)]));
}

describe('comparing a language\'s templates with the TypeScript app\'s', () => {
  const typescript = assembly({ runtime: 'node.js/v20.20.2' });

  test('finds every template, the nested one by its logical path', () => {
    expect([...templatesOf(typescript).keys()]).toEqual([ROOT, NESTED]);
  });

  test('templates that differ only in the runtime that ran the app, and the nested hash that follows, are identical', () => {
    const python = assembly({ runtime: 'Python/3.11.7' });
    expect(JSON.stringify(templatesOf(python).get('Migration'))).not.toEqual(
      JSON.stringify(JSON.parse(fs.readFileSync(path.join(python, 'Migration.template.json'), 'utf-8'))));
    expect(compare(typescript, python)).toEqual({ [ROOT]: [], [NESTED]: [] });
  });

  test('a different construct list in the analytics is a difference', () => {
    const go = assembly({ runtime: 'go1.26.8/linux/amd64', constructs: 'CfnStack,CfnOutput' });
    expect(compare(typescript, go)).toEqual({ [ROOT]: ['Resources/CDKMetadata/Properties/Analytics'], [NESTED]: [] });
  });

  test('a nested stack URL whose hash names no nested template of the assembly is a difference', () => {
    const java = assembly({ runtime: 'Java/17.0.15', urlHash: 'f'.repeat(64) });
    expect(compare(typescript, java)).toEqual({
      [ROOT]: ['Resources/MessagingStackResource/Properties/TemplateURL/Fn::Join/1/1'],
      [NESTED]: [],
    });
  });

  test('a different property in a nested template is a difference, with its path', () => {
    const python = assembly({ runtime: 'Python/3.11.7', queueName: 'dead-letters-dev' });
    expect(compare(typescript, python)).toEqual({ [ROOT]: [], [NESTED]: ['Resources/Queue/Properties/QueueName'] });
  });

  test('a key on one side only is a difference', () => {
    expect(differences({ Outputs: { A: 1 } }, { Outputs: { A: 1, B: 2 } })).toEqual(['Outputs/B (only in the app)']);
    expect(differences({ Outputs: { A: 1, B: 2 } }, { Outputs: { A: 1 } })).toEqual(['Outputs/B (missing)']);
    expect(differences({ List: [1, 2] }, { List: [1] })).toEqual(['List (length 2 vs 1)']);
  });
});

/** Runs the script as `npx projen test:bindings` does; its exit status is what fails that task. */
function runComparison(reference: string, app: string) {
  const script = path.join(__dirname, 'bindings', 'compare-templates.ts');
  const run = spawnSync(path.join(__dirname, '..', 'node_modules', '.bin', 'ts-node'), ['--swc', script, reference, `python=${app}`], {
    encoding: 'utf-8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the comparison script', () => {
  const typescript = assembly({ runtime: 'node.js/v20.20.2' });

  test('exits 0 when every template is identical but for the normalized fields', () => {
    const run = runComparison(typescript, assembly({ runtime: 'Python/3.11.7' }));
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/2 templates, identical in python/);
    expect(run.status).toBe(0);
  });

  test('exits 1 on a difference and names its path', () => {
    const run = runComparison(typescript, assembly({ runtime: 'Python/3.11.7', queueName: 'dead-letters-dev' }));
    expect(run.stderr).toMatch(/python: Migration\/MessagingStackResource: Resources\/Queue\/Properties\/QueueName/);
    expect(run.status).toBe(1);
  });

  test('exits 1 when a template of the reference is missing', () => {
    const run = runComparison(typescript, assembly({ runtime: 'Python/3.11.7', nested: false }));
    expect(run.stderr).toMatch(/python: Migration\/MessagingStackResource is missing/);
    expect(run.status).toBe(1);
  });

  test('exits 1 when the app has a template the reference has not', () => {
    const run = runComparison(assembly({ runtime: 'node.js/v20.20.2', nested: false }), assembly({ runtime: 'Python/3.11.7' }));
    expect(run.stderr).toMatch(/python: Migration\/MessagingStackResource exists only here/);
    expect(run.status).toBe(1);
  });
});
