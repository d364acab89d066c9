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
      .flatMap(([, command]) => command.split('&&'))
      .filter((part) => /\bjest\b/.test(part));
    expect(jestRuns.length).toBeGreaterThanOrEqual(3);
    expect(jestRuns.filter((run) => !/--ci\b/.test(run))).toEqual([]);
  });
});
