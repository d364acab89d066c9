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
  write('Migration.template.json', {
    Resources: {
      MessagingStackResource: {
        Type: 'AWS::CloudFormation::Stack',
        Metadata: { 'aws:asset:path': nestedFile },
        Properties: { TemplateURL: { 'Fn::Join': ['', ['https://s3.us-west-2.amazonaws.com/assets/', `${options.urlHash ?? nestedHash}.json`]] } },
      },
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
