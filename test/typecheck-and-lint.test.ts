import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, test } from '@jest/globals';

/*
 * The test command type-checks and lints with one compilation (scripts/typecheck-and-lint.js). It must check what
 * the `typecheck` and `eslint` tasks check, and fail where they fail.
 */

const ROOT = path.join(__dirname, '..');
const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf-8')).tasks;

describe('typecheck-and-lint', () => {
  test('checks the tsconfig the typecheck task checks, and lints the paths the eslint task lints', () => {
    const [combined] = tasks['typecheck-and-lint'].steps;
    const [, tsconfig, ...paths] = combined.exec.split(' ').slice(1);
    expect(tasks.typecheck.steps[0].exec).toBe(`tsc --noEmit -p ${tsconfig}`);
    const eslintArgs: string[] = tasks.eslint.steps[0].execArgs;
    expect(paths).toEqual(eslintArgs.slice(eslintArgs.indexOf('$@') + 1));
    expect(tasks['typecheck-and-lint'].env).toEqual(tasks.eslint.env);
  });

  test('is the test command\'s type check and lint', () => {
    const lanes = tasks.test.steps.map((step: { exec?: string }) => step.exec ?? '').join('\n');
    expect(lanes).toContain('node scripts/typecheck-and-lint.js tsconfig.dev.json');
    expect(lanes).not.toMatch(/\btsc --noEmit\b|projen eslint/);
  });

  test('fails on a type error and on a typed-rule lint error, naming each', () => {
    // Outside every path the project's own type check and lint read (they may run at the same time), and not a
    // dot-directory, which ESLint would skip.
    const dir = fs.mkdtempSync(path.join(ROOT, 'typecheck-and-lint-probe-'));
    try {
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.dev.json', include: ['*.ts'] }));
      fs.writeFileSync(path.join(dir, 'broken.ts'), [
        'async function later(): Promise<number> {',
        '  return 1;',
        '}',
        'export function broken(): string {',
        '  later();',
        '  return 42;',
        '}',
        '',
      ].join('\n'));
      const run = spawnSync('node', ['scripts/typecheck-and-lint.js', path.join(dir, 'tsconfig.json'), dir], {
        cwd: ROOT, encoding: 'utf-8', env: { ...process.env, ESLINT_USE_FLAT_CONFIG: 'false', NODE_NO_WARNINGS: '1', FORCE_COLOR: '0' },
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
      expect(run.stdout).toMatch(/@typescript-eslint\/no-floating-promises/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
