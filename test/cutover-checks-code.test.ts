import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, test } from '@jest/globals';
import { App, AssetStaging, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CUTOVER_CHECKS_REQUIREMENTS, cutoverChecksCode, driverCacheDir, pipInstallArguments } from '../src/private/cutover-checks-code';
import { RUNTIME_DIR } from '../src/private/runtime-code';

/*
 * The cutover checks function imports PyMySQL, which Lambda's Python runtimes do not include ("Lambda runtimes",
 * AWS Lambda Developer Guide: a runtime has the SDK for Python only). The code is bundled at synthesis by pip from
 * a requirement pinned with its hash. These tests run the real pip (the first run downloads the 45 KB wheel from
 * PyPI; pip's cache serves the others).
 */

const ROOT = path.join(__dirname, '..');
const PROJECT_PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const requirementLine = (file: string) => fs.readFileSync(file, 'utf-8').split('\n').find((line) => /^PyMySQL==/i.test(line)) ?? '';

function synthesizedCodeDir(): string {
  AssetStaging.clearAssetHashCache(); // each synthesis bundles again, as a new `cdk synth` would
  const app = new App({
    outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-code-')),
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new Stack(app, 'Code');
  new lambda.Function(stack, 'Checks', {
    runtime: lambda.Runtime.PYTHON_3_12, handler: 'index.handler', code: cutoverChecksCode(lambda.Runtime.PYTHON_3_12),
  });
  const assembly = app.synth();
  const template = assembly.getStackByName('Code').template;
  const fn: any = Object.values(template.Resources).find((resource: any) => resource.Type === 'AWS::Lambda::Function');
  const assetPath = fn.Metadata['aws:asset:path'];
  return path.join(assembly.directory, assetPath);
}

function withEnvironment(variables: Record<string, string>, body: () => void): void {
  const previous = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    body();
  } finally {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('the cutover checks function\'s code', () => {
  test('holds the handler as index.py and the pinned PyMySQL, importable by the handler', () => {
    const dir = synthesizedCodeDir();
    expect(fs.readFileSync(path.join(dir, 'index.py'), 'utf-8')).toBe(fs.readFileSync(path.join(RUNTIME_DIR, 'cutover_checks.py'), 'utf-8'));
    // The project's Python environment stands in for Lambda's runtime, which has boto3 (the handler imports it).
    const version = execFileSync(PROJECT_PYTHON, ['-c',
      'import os, pymysql, index; print(pymysql.VERSION_STRING, index.pymysql is pymysql, pymysql.__file__.startswith(os.getcwd()))'],
    { cwd: dir, env: { PATH: process.env.PATH ?? '', PYTHONPATH: dir, PYTHONNOUSERSITE: '1', AWS_DEFAULT_REGION: 'us-west-2' } }).toString().trim();
    // The bundled copy, not the project environment's own PyMySQL.
    expect(version).toBe('1.2.4 True True');
  }, 120_000);

  test('pins the same PyMySQL as the tests that run the checks against MariaDB', () => {
    const bundled = requirementLine(path.join(RUNTIME_DIR, CUTOVER_CHECKS_REQUIREMENTS)).split(' ')[0];
    expect(bundled).toMatch(/^PyMySQL==\d+\.\d+\.\d+$/);
    expect(requirementLine(path.join(ROOT, 'requirements-dev.txt'))).toBe(bundled);
  });

  test('pip refuses a wheel whose hash differs from the pin', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-hash-'));
    const wrongPin = requirementLine(path.join(RUNTIME_DIR, CUTOVER_CHECKS_REQUIREMENTS)).replace(/sha256:[0-9a-f]{64}/, `sha256:${'0'.repeat(64)}`);
    fs.writeFileSync(path.join(dir, 'requirements.txt'), `${wrongPin}\n`);
    expect(() => execFileSync('python3', pipInstallArguments(path.join(dir, 'requirements.txt'), path.join(dir, 'out')), { stdio: 'pipe' }))
      .toThrow(/HASHES|hash/);
    expect(fs.existsSync(path.join(dir, 'out', 'pymysql'))).toBe(false);
  }, 120_000);

  test('a pip that cannot install fails the synthesis with what to do', () => {
    // PIP_NO_INDEX makes the real pip behave as on a machine that cannot reach any index; a TMPDIR of its own holds
    // no driver installed by an earlier synthesis.
    withEnvironment({ PIP_NO_INDEX: '1', TMPDIR: fs.mkdtempSync(path.join(os.tmpdir(), 'no-cache-')) }, () => {
      expect(() => synthesizedCodeDir()).toThrow(/needs PyMySQL in its code.*No matching distribution.*reaches PyPI/s);
    });
  }, 120_000);

  test('a second synthesis reuses the driver the first installed, without pip', () => {
    withEnvironment({ TMPDIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cache-')) }, () => {
      synthesizedCodeDir();
      // Now no index can be reached: only the cached install can make this synthesis succeed.
      withEnvironment({ PIP_NO_INDEX: '1' }, () => {
        expect(fs.readdirSync(synthesizedCodeDir())).toEqual(expect.arrayContaining(['index.py', 'pymysql']));
      });
    });
  }, 120_000);

  test('refuses a cache directory that other users can write to', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-'));
    const root = path.join(tmp, `cdk-migration-pipeline-${os.userInfo().uid}`);
    fs.mkdirSync(root);
    fs.chmodSync(root, 0o777);
    withEnvironment({ TMPDIR: tmp }, () => {
      expect(() => driverCacheDir(path.join(RUNTIME_DIR, CUTOVER_CHECKS_REQUIREMENTS))).toThrow(/must belong to this user with mode 700/);
    });
  });
});
