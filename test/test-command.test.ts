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
    const jestRuns = testCommand.split('&&').filter((part) => /\bjest\b/.test(part));
    expect(jestRuns.length).toBeGreaterThanOrEqual(3);
    expect(jestRuns.filter((run) => !/--ci\b/.test(run))).toEqual([]);
  });
});
