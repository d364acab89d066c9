import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from '@jest/globals';

type Step = { exec?: string; spawn?: string };
type Tasks = Record<string, { steps?: Step[] }>;

function projenTasks(): Tasks {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.projen', 'tasks.json'), 'utf-8')).tasks;
}

/** Tasks an exec command runs itself through projen (`projen integ:update`, `npx projen test:python`). */
function projenTasksRunBy(command: string): string[] {
  return [...command.matchAll(/\bprojen\s+([\w:-]+)/g)].map((match) => match[1]);
}

/**
 * Every command a task runs, as [task, command], following its `spawn` steps and the projen tasks its commands run,
 * each task once.
 */
function commandsReachedFrom(tasks: Tasks, name: string, seen = new Set<string>()): Array<[string, string]> {
  if (seen.has(name) || !tasks[name]) {
    return [];
  }
  seen.add(name);
  return (tasks[name].steps ?? []).flatMap((step): Array<[string, string]> => {
    if (step.spawn) {
      return commandsReachedFrom(tasks, step.spawn, seen);
    }
    if (!step.exec) {
      return [];
    }
    const nested = projenTasksRunBy(step.exec).flatMap((task) => commandsReachedFrom(tasks, task, seen));
    return [[name, step.exec], ...nested];
  });
}

const REWRITES_SNAPSHOTS = /--updateSnapshot|\bjest\b[^&]*\s-u\b|--update-on-failed/;

/** [task, command] for every command that rewrites a snapshot and runs from a task other than integ:update. */
function rewritingCommands(tasks: Tasks): Array<[string, string]> {
  return Object.keys(tasks)
    .filter((name) => name !== 'integ:update')
    .flatMap((name) => commandsReachedFrom(tasks, name).filter(([, command]) => REWRITES_SNAPSHOTS.test(command)));
}

describe('the test tasks never rewrite what they check', () => {
  const tasks = projenTasks();

  test('no task but integ:update updates jest snapshots or integ snapshots, by its own commands or the tasks it spawns', () => {
    expect(rewritingCommands(tasks)).toEqual([]);
  });

  test('a spawn of integ:update, or a command that runs it, is found', () => {
    const update = { steps: [{ exec: 'integ-runner --directory integ --update-on-failed --dry-run' }] };
    expect(rewritingCommands({ 'test': { steps: [{ spawn: 'integ:update' }] }, 'integ:update': update })).toEqual([
      ['integ:update', 'integ-runner --directory integ --update-on-failed --dry-run'],
    ]);
    expect(rewritingCommands({ 'test': { steps: [{ exec: 'npx projen integ:update' }] }, 'integ:update': update })).toHaveLength(1);
    expect(rewritingCommands({ test: { steps: [{ spawn: 'unit' }] }, unit: { steps: [{ exec: 'jest --ci -u' }] } })).toHaveLength(2);
  });

  test('every jest run of the test task, spawned tasks included, is a --ci run, which writes no new snapshot', () => {
    const jestRuns = commandsReachedFrom(tasks, 'test')
      // The lanes' steps are quoted arguments of scripts/parallel.sh; a step may chain commands with &&.
      .flatMap(([, command]) => command.split(/&&|" /))
      .filter((part) => /\bjest\b/.test(part));
    expect(jestRuns.length).toBeGreaterThanOrEqual(3);
    expect(jestRuns.filter((run) => !/--ci\b/.test(run))).toEqual([]);
  });
});

describe('the test command runs every check, and CI runs the two quick-start lines', () => {
  const root = path.join(__dirname, '..');
  const testCommand = commandsReachedFrom(projenTasks(), 'test').map(([, command]) => command).join('\n');

  test.each([
    ['the example synthesis', /cdk synth --quiet/],
    ['cfn-lint over cdk.out', /cfnlint[^"]*cdk\.out\/\*\.template\.json/],
    ['pytest over every folder under test/ but the rehearsal', /pytest test --ignore=test\/rehearsal /],
    ['the rehearsal', /pytest test\/rehearsal /],
    ['the concurrency tests', /"\S+ -m pytest test\/python\/test_concurrent_runs\.py /],
    ['the mutation run', /bash scripts\/mutation-test\.sh/],
    ['every other jest test file, unsharded', /jest --ci --testPathIgnorePatterns=\/node_modules\/ --testPathIgnorePatterns=test\/python-bindings\.test\.ts --testPathIgnorePatterns=test\/prop-matrix\.test\.ts --maxWorkers=1"/],
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
