import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from '@jest/globals';

/** Every command of every projen task, as written in .projen/tasks.json. */
function taskCommands(): Array<[string, string]> {
  const tasks = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.projen', 'tasks.json'), 'utf-8')).tasks as
    Record<string, { steps?: Array<{ exec?: string }> }>;
  return Object.entries(tasks).flatMap(([name, task]) =>
    (task.steps ?? []).filter((step) => step.exec).map((step) => [name, step.exec!] as [string, string]));
}

describe('the test tasks never rewrite what they check', () => {
  const commands = taskCommands();

  test('no task updates jest snapshots or integ snapshots', () => {
    const rewriting = commands.filter(([name, command]) =>
      /--updateSnapshot|\bjest\b[^&]*\s-u\b|--update-on-failed/.test(command) && name !== 'integ:update');
    expect(rewriting).toEqual([]);
  });

  test('every jest run of the test task is a --ci run, which writes no new snapshot', () => {
    const [testCommand] = commands.filter(([name]) => name === 'test').map(([, command]) => command);
    // The lanes' steps are quoted arguments of scripts/parallel.sh; a step may chain commands with &&.
    const jestRuns = testCommand.split(/&&|" /).filter((part) => /\bjest\b/.test(part));
    expect(jestRuns.length).toBeGreaterThanOrEqual(3);
    expect(jestRuns.filter((run) => !/--ci\b/.test(run))).toEqual([]);
  });
});

describe('the test command runs every check, and CI runs the two quick-start lines', () => {
  const root = path.join(__dirname, '..');
  const commands = taskCommands();
  const testCommand = commands.filter(([name]) => name === 'test').map(([, command]) => command).join('\n');

  test.each([
    ['the example synthesis', /cdk synth --quiet/],
    ['cfn-lint over cdk.out', /cfnlint[^"]*cdk\.out\/\*\.template\.json/],
    ['pytest over every folder under test/ but the rehearsal', /pytest test --ignore=test\/rehearsal /],
    ['the rehearsal', /pytest test\/rehearsal /],
    ['the mutation run', /bash scripts\/mutation-test\.sh/],
    ['both halves of the jest test files', /--shard=1\/2[\s\S]*--shard=2\/2/],
    ['the prop matrix', /jest --ci test\/prop-matrix\.test\.ts/],
    ['the Python bindings test', /jest --ci test\/python-bindings\.test\.ts/],
    ['the type check and lint', /typecheck-and-lint\.js/],
    ['the jsii compile and the API.md check', /jsii --silence-warnings=reserved-word[\s\S]*diff -u API\.md dist\/API\.check\.md/],
    ['the integ snapshot', /integ-runner --directory integ/],
    ['the Python, Java and Go packages', /--target python[\s\S]*--target java[\s\S]*--target go/],
    ['the apps in Python, Java and Go', /bash test\/bindings\/run\.sh/],
    ['cdk-nag in a consumer app, in each form', /bash scripts\/cdk-nag-consumer-check\.sh --compiled/],
  ])('%s', (_, pattern) => {
    expect(testCommand).toMatch(pattern);
  });

  test('.ci/run runs the two lines of the README\'s quick start and nothing else', () => {
    const lines = (file: string) => fs.readFileSync(path.join(root, file), 'utf-8').split('\n');
    const ci = lines('.ci/run').filter((line) => line.trim() && !line.startsWith('#') && !/^(set|cd|export) /.test(line));
    const readme = lines('README.md');
    const start = readme.indexOf('## Quick start');
    const block = readme.slice(readme.indexOf('```bash', start) + 1, readme.indexOf('```', readme.indexOf('```bash', start) + 1));
    expect(ci).toEqual(['npm ci && npx cdk synth --quiet', 'npx projen test']);
    expect(block.map((line) => line.replace(/\s+#.*$/, ''))).toEqual(ci);
  });
});
