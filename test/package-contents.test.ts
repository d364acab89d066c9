import { execFileSync, execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';

/*
 * The library reads its runtime code (Lambda handlers, the Glue script, custom resources) from lib/runtime while
 * a consumer synthesizes. These tests prove that compiling puts that folder into lib/ and that the npm package
 * ships every file the library reads, without running the (slow) jsii compiler: the compile task's steps after
 * jsii run in a scratch copy of the package, and `npm pack --dry-run` lists what the tarball would hold.
 */

const ROOT = path.join(__dirname, '..');
const RUNTIME = path.join(ROOT, 'src', 'runtime');

interface TaskStep { readonly exec?: string; readonly spawn?: string }

function compileSteps(): TaskStep[] {
  const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf-8')).tasks;
  return tasks.compile.steps;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return entry.name === 'runtime' ? [] : sourceFiles(full);
    }
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * The runtime files the library reads at synth time: the names passed to readRuntimeSource(), and every runtime
 * file name written as a string literal in src/ (some reach readRuntimeSource() through a variable).
 */
function runtimeFilesReadAtSynth(): { named: string[]; unknown: string[] } {
  const shipped = new Set(fs.readdirSync(RUNTIME));
  const named = new Set<string>();
  const unknown: string[] = [];
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(file, 'utf-8');
    for (const [, name] of text.matchAll(/readRuntimeSource\(\s*'([^']+)'/g)) {
      if (shipped.has(name)) {
        named.add(name);
      } else {
        unknown.push(name);
      }
    }
    for (const [, name] of text.matchAll(/'([A-Za-z0-9_.-]+\.(?:py|js|json))'/g)) {
      if (shipped.has(name)) {
        named.add(name);
      }
    }
  }
  return { named: [...named].sort(), unknown };
}

/** What `npm pack` would put into the tarball after the compile task, for a scratch copy of the package. */
function packedFilesAfterCompile(): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'package-contents-'));
  try {
    for (const file of ['package.json', '.npmignore', 'README.md', 'LICENSE']) {
      fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    }
    fs.cpSync(RUNTIME, path.join(dir, 'src', 'runtime'), { recursive: true });
    // A stale byte-code folder, as running the Python tests leaves one, must not be shipped.
    fs.mkdirSync(path.join(dir, 'src', 'runtime', '__pycache__'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'runtime', '__pycache__', 'validate.cpython-311.pyc'), '');
    // What the test command leaves in a checkout: the Python test environments, the lanes' logs and step times, the
    // mutation run's scratch copy and Hypothesis's example database.
    fs.mkdirSync(path.join(dir, '.venv', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.venv', 'pyvenv.cfg'), '');
    fs.mkdirSync(path.join(dir, '.venv-bindings', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.venv-bindings', 'pyvenv.cfg'), '');
    fs.mkdirSync(path.join(dir, 'test-reports'));
    fs.writeFileSync(path.join(dir, 'test-reports', 'example.log'), '');
    fs.writeFileSync(path.join(dir, 'test-reports', 'steps.tsv'), '');
    fs.mkdirSync(path.join(dir, '.mutation', 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.mutation', 'src', 'validate.py'), '');
    fs.mkdirSync(path.join(dir, '.hypothesis', 'examples'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.hypothesis', 'examples', 'entry'), '');
    // What jsii would write.
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'lib', 'index.js'), '');
    for (const step of compileSteps().slice(1)) {
      execSync(step.exec!, { cwd: dir, stdio: 'pipe' });
    }
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'] });
    return (JSON.parse(output)[0].files as Array<{ path: string }>).map((file) => file.path);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let packedOnce: string[] | undefined;
/** packedFilesAfterCompile(), run once for the tests that read it (npm pack takes seconds). */
const packedFiles = () => (packedOnce ??= packedFilesAfterCompile());

describe('the npm package ships the runtime code the library reads at synth time', () => {
  test('the compile task itself copies src/runtime into lib/runtime, right after jsii', () => {
    const steps = compileSteps();
    expect(steps[0].exec).toMatch(/^jsii\b/);
    expect(steps.slice(1).map((step) => step.exec)).toContainEqual(expect.stringMatching(/cp -r src\/runtime lib\/runtime/));
    // No spawned task: `npx projen compile` followed by `npx projen package:js` must be enough.
    expect(steps.filter((step) => step.spawn)).toEqual([]);
  });

  test('every runtime file named in src exists', () => {
    const { named, unknown } = runtimeFilesReadAtSynth();
    expect(unknown).toEqual([]);
    expect(named).toEqual(expect.arrayContaining([
      'account_prerequisites.py', 'datasync_activation.js', 'glue_trigger.py', 'remediation.py', 'step_function_trigger.py', 'validate.py',
    ]));
  });

  test('npm pack after compile includes every file readRuntimeSource reads, and no byte code', () => {
    const packed = packedFiles();
    const { named } = runtimeFilesReadAtSynth();
    expect(packed).toEqual(expect.arrayContaining(named.map((name) => `lib/runtime/${name}`)));
    expect(packed.filter((file) => file.includes('__pycache__'))).toEqual([]);
  });

  test('npm pack after the test command ships the library and its documents, not the test environment', () => {
    const packed = packedFiles();
    expect(packed.filter((file) => !/^(lib\/|package\.json$|README\.md$|LICENSE$)/.test(file))).toEqual([]);
    expect(packed).toEqual(expect.arrayContaining(['lib/index.js', 'package.json', 'README.md', 'LICENSE']));
  });

  test('the README says how to build the tarball and install it into another app', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf-8');
    expect(readme).toContain('npx projen compile && npx projen package:js');
    expect(readme).toMatch(/npm install \.\.\/cdk-migration-pipeline\/dist\/js\/cdk-migration-pipeline@0\.0\.0\.jsii\.tgz/);
  });
});
