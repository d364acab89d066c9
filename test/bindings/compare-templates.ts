import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

/*
 * Compares the CloudFormation templates of cloud assemblies with a reference assembly's. Root templates are matched
 * by stack name, nested ones by their logical path (the chain of AWS::CloudFormation::Stack logical IDs from the
 * root), because nested template file names may differ. Prints one row per template and exits with 1 when any
 * template differs anywhere but in the normalized fields below, or exists on one side only.
 * Usage: ts-node compare-templates.ts REFERENCE_DIR NAME=DIR [NAME=DIR ...]
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Template = { [key: string]: Json };

/**
 * The two fields that differ between languages, each for a known reason. Both are rewritten, not skipped, so what
 * they still say is compared:
 * - CDKMetadata's Analytics (every stack, nested ones too) is a gzipped list of the CDK version, the construct
 *   classes used and the runtime that ran the app: `node.js/v20.x!jsii-runtime.Runtime`, `Python/3.11.x!...`,
 *   `Java/17.x!...`, `go1.x/linux/amd64!...`. The list is decoded and only the runtime's entry is replaced.
 * - A nested stack's TemplateURL ends in the SHA-256 of its template, which holds that Analytics. The hash is
 *   replaced by the name of the template the assembly's asset manifest gives for it, and that template is
 *   compared in its own row.
 */
export const NORMALIZED_FIELDS = [
  'Resources/CDKMetadata/Properties/Analytics: the language runtime entry (the rest of the decoded list is compared)',
  'nested stack TemplateURL: the template hash, replaced by the nested template it names (compared in its own row)',
];

const ANALYTICS_PREFIX = 'v2:deflate64:';
const RUNTIME_ENTRY = /[^,{}]+!jsii-runtime\.Runtime/g;

function decodedAnalytics(value: Json): Json {
  if (typeof value !== 'string' || !value.startsWith(ANALYTICS_PREFIX)) {
    return value;
  }
  const list = zlib.gunzipSync(Buffer.from(value.slice(ANALYTICS_PREFIX.length), 'base64')).toString('utf-8');
  return `decoded: ${list.replace(RUNTIME_ENTRY, '<language runtime>!jsii-runtime.Runtime')}`;
}

/** Asset hash -> file name in the assembly, from every asset manifest (nested templates are file assets). */
function assetFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.assets.json'))) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf-8'));
    for (const [hash, asset] of Object.entries(manifest.files ?? {}) as Array<[string, { source: { path: string } }]>) {
      files.set(hash, asset.source.path);
    }
  }
  return files;
}

type Resource = { Type: string; Metadata?: Record<string, string>; Properties?: Record<string, Json> };

function normalized(template: Template, assets: Map<string, string>): Template {
  const copy: Template = JSON.parse(JSON.stringify(template));
  const resources = (copy.Resources ?? {}) as Record<string, Resource>;
  if (resources.CDKMetadata?.Properties?.Analytics !== undefined) {
    resources.CDKMetadata.Properties.Analytics = decodedAnalytics(resources.CDKMetadata.Properties.Analytics);
  }
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::CloudFormation::Stack' && resource.Properties?.TemplateURL !== undefined) {
      const url = JSON.stringify(resource.Properties.TemplateURL).replace(/\b([0-9a-f]{64})\.json\b/g, (key, hash: string) => {
        const file = assets.get(hash);
        return file === resource.Metadata?.['aws:asset:path'] ? `<hash of ${file}>.json` : key;
      });
      resource.Properties.TemplateURL = JSON.parse(url);
    }
  }
  return copy;
}

interface Manifest {
  readonly artifacts: Record<string, { readonly type: string; readonly properties?: { readonly templateFile?: string } }>;
}

/** Every template of an assembly, root and nested, by logical path, with NORMALIZED_FIELDS rewritten. */
export function templatesOf(dir: string): Map<string, Template> {
  const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf-8'));
  const templates = new Map<string, Template>();
  for (const [stackName, artifact] of Object.entries(manifest.artifacts)) {
    if (artifact.type === 'aws:cloudformation:stack') {
      collect(dir, stackName, artifact.properties!.templateFile!, templates);
    }
  }
  const assets = assetFiles(dir);
  return new Map([...templates].map(([logicalPath, template]) => [logicalPath, normalized(template, assets)]));
}

function collect(dir: string, logicalPath: string, file: string, templates: Map<string, Template>) {
  const template: Template = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf-8'));
  templates.set(logicalPath, template);
  const resources = (template.Resources ?? {}) as Record<string, { Type: string; Metadata?: Record<string, string> }>;
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::CloudFormation::Stack') {
      const nestedFile = resource.Metadata?.['aws:asset:path'];
      if (!nestedFile) {
        throw new Error(`${dir}: nested stack ${logicalPath}/${logicalId} has no aws:asset:path metadata`);
      }
      collect(dir, `${logicalPath}/${logicalId}`, nestedFile, templates);
    }
  }
}

/** The paths (joined with /) at which two JSON values differ; a missing key counts as a difference. */
export function differences(expected: Json, actual: Json, at: string[] = []): string[] {
  const bothObjects = typeof expected === 'object' && typeof actual === 'object' && expected !== null && actual !== null;
  if (!bothObjects || Array.isArray(expected) !== Array.isArray(actual)) {
    return expected === actual ? [] : [at.join('/')];
  }
  if (Array.isArray(expected) && Array.isArray(actual) && expected.length !== actual.length) {
    return [`${at.join('/')} (length ${expected.length} vs ${actual.length})`];
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].flatMap((key) => {
    const left = (expected as Record<string, Json>)[key];
    const right = (actual as Record<string, Json>)[key];
    if (left === undefined || right === undefined) {
      return [[...at, key].join('/') + (left === undefined ? ' (only in the app)' : ' (missing)')];
    }
    return differences(left, right, [...at, key]);
  });
}

function main(args: string[]) {
  const [referenceDir, ...apps] = args;
  const reference = templatesOf(referenceDir);
  const names = apps.map((app) => app.split('=')[0]);
  const results = new Map(apps.map((app) => {
    const [name, dir] = app.split('=');
    return [name, templatesOf(dir)];
  }));
  const logicalPaths = new Set([...reference.keys(), ...[...results.values()].flatMap((templates) => [...templates.keys()])]);

  const rows: string[][] = [];
  const failures: string[] = [];
  for (const logicalPath of [...logicalPaths].sort()) {
    const row = [logicalPath];
    for (const name of names) {
      const expected = reference.get(logicalPath);
      const actual = results.get(name)!.get(logicalPath);
      if (!expected || !actual) {
        row.push(expected ? 'missing' : 'extra');
        failures.push(`${name}: ${logicalPath} ${expected ? 'is missing' : 'exists only here'}`);
        continue;
      }
      const found = differences(expected, actual);
      row.push(found.length > 0 ? `different (${found.length})` : 'identical');
      failures.push(...found.map((field) => `${name}: ${logicalPath}: ${field}`));
    }
    rows.push(row);
  }

  const header = ['template (logical path)', ...names];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  console.log([line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n'));
  console.log(NORMALIZED_FIELDS.map((field) => `normalized: ${field}`).join('\n'));
  if (failures.length > 0) {
    console.error(`\n${failures.length} difference(s):\n${failures.join('\n')}`);
    process.exit(1);
  }
  console.log(`\n${reference.size} templates, identical in ${names.join(', ')}`);
}

if (require.main === module) {
  main(process.argv.slice(2));
}
