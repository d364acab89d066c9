import { execFileSync, execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, test, expect, beforeAll } from '@jest/globals';

/*
 * What a Python user imports: jsii-pacmak generates the `cdk_migration_pipeline` module from the jsii assembly
 * (.jsii) that `npx projen compile` writes ("Working with the AWS CDK in Python", AWS CDK Developer Guide: props
 * are keyword arguments in snake_case). These checks read the generated source, in seconds, so the test command
 * keeps them; `npx projen test:bindings` installs the wheel with aws-cdk-lib from PyPI and runs the README's
 * example for real.
 */

const ROOT = path.join(__dirname, '..');
const ASSEMBLY = path.join(ROOT, '.jsii');

function newestSourceTime(dir: string): number {
  return Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? newestSourceTime(full) : fs.statSync(full).mtimeMs;
  }));
}

/** The jsii assembly, compiled first when it is missing or older than the sources. */
function assembly(): { types: Record<string, { kind: string; datatype?: boolean; properties?: Array<{ name: string }> }> } {
  if (!fs.existsSync(ASSEMBLY) || fs.statSync(ASSEMBLY).mtimeMs < newestSourceTime(path.join(ROOT, 'src'))) {
    execSync('npx projen compile', { cwd: ROOT, stdio: 'pipe' });
  }
  return JSON.parse(fs.readFileSync(ASSEMBLY, 'utf-8'));
}

/** The generated `cdk_migration_pipeline/__init__.py`. */
function generatedModule(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'python-bindings-'));
  try {
    execFileSync('npx', ['jsii-pacmak', '--target', 'python', '--code-only', '--outdir', out], { cwd: ROOT, stdio: 'pipe' });
    return fs.readFileSync(path.join(out, 'python', 'src', 'cdk_migration_pipeline', '__init__.py'), 'utf-8');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The struct's Python keyword -> jsii property mapping, as the generated `@jsii.data_type` decorator states it. */
function nameMapping(module: string, struct: string): Record<string, string> {
  const decorator = new RegExp(`jsii_type="cdk-migration-pipeline\\.${struct}",[\\s\\S]*?name_mapping=\\{([\\s\\S]*?)\\},\\s*\\)\\s*class ${struct}\\b`).exec(module);
  if (!decorator) {
    throw new Error(`no data type ${struct} in the generated module`);
  }
  return Object.fromEntries([...decorator[1].matchAll(/"(\w+)": "(\w+)"/g)].map(([, python, jsii]) => [python, jsii]));
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

describe('the Python module', () => {
  let types: ReturnType<typeof assembly>['types'];
  let module: string;

  beforeAll(() => {
    types = assembly().types;
    module = generatedModule();
  }, 240_000);

  const structs = () => ['MigrationPipelineProps', ...Object.keys(types).map((fqn) => fqn.split('.')[1]).filter((name) => name.endsWith('Options'))];

  test('exposes MigrationPipeline with add_operator_outputs', () => {
    expect(module).toMatch(/^class MigrationPipeline\(/m);
    expect(module).toMatch(/def add_operator_outputs\(\s*self,\s*scope: typing\.Optional\["_constructs_77d1e7e8\.Construct"\] = None,?\s*\)/);
  });

  test('exposes the props and every *Options struct, with the snake_case keywords a Python user types', () => {
    const names = structs();
    expect(names).toEqual(expect.arrayContaining(['MigrationPipelineProps', 'NetworkOptions', 'StorageOptions', 'DatabaseOptions', 'GlueOptions']));
    for (const struct of names) {
      const properties = types[`cdk-migration-pipeline.${struct}`].properties!.map((property) => property.name);
      const expected = Object.fromEntries(properties.map((name) => [snakeCase(name), name]));
      expect([struct, nameMapping(module, struct)]).toEqual([struct, expected]);
    }
    expect(nameMapping(module, 'NetworkOptions')).toMatchObject({ availability_zones: 'availabilityZones', max_azs: 'maxAzs' });
    expect(nameMapping(module, 'MigrationPipelineProps')).toMatchObject({ environment_suffix: 'environmentSuffix', data_sync: 'dataSync' });
  });

  test('the README\'s Python example imports what exists and uses only keywords the module defines', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
    const example = /```python\n([\s\S]*?)```/.exec(readme)![1];
    expect(example).toContain('from cdk_migration_pipeline import MigrationPipeline, NetworkOptions');
    const keywords = new Set(structs().flatMap((struct) => Object.keys(nameMapping(module, struct))));
    const cdkKeywords = new Set(['env', 'account', 'region']);
    const used = [...example.matchAll(/\b([a-z_]+)=/g)].map(([, keyword]) => keyword).filter((keyword) => !cdkKeywords.has(keyword));
    expect(used.length).toBeGreaterThan(2);
    expect(used.filter((keyword) => !keywords.has(keyword))).toEqual([]);
    expect(example).toContain('.add_operator_outputs()');
  });
});
