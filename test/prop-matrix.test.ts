import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';
import { Stack } from 'aws-cdk-lib';
import { coveringSets, narrowDown, uncoveredPairs } from './covering-array';
import {
  COMBINATIONS, EXCLUSIVE, FLIPPED, SHOWS, Templates, comparable, declaredDefaults, documentedDefault, flipped, lint, lintSet,
  masked, showsFlip, synthesize, valueAt,
} from './prop-matrix-options';
import { upgradeSafetyFindings } from './upgrade-safety';

/*
 * Every documented prop deploys, and does what it says. Each option of MigrationPipelineProps (and of its nested
 * *Options structs) is flipped to a value other than its documented default, in the sets of a pairwise covering array
 * (every two options flipped together, and each without the other, in some set: 10 syntheses for 83 options), plus
 * the combinations the README documents. Each set is synthesized; in each covering set, every flipped option must
 * leave its own mark in the templates (SHOWS), so a prop that is silently ignored fails; every template of every
 * set (root, nested, and the VPC stack of the bring-your-own-VPC sets) goes through cfn-lint in one run, which finds
 * what synthesis does not, such as circular dependencies between nested stacks (E3004). A set that fails is
 * narrowed down to the options that cause the failure. Every set's templates also pass the upgrade-safety check
 * (test/upgrade-safety.ts): no custom resource's handler runs before the policies it needs.
 */

const OPTIONS = Object.keys(FLIPPED);
const SETS = coveringSets(OPTIONS, EXCLUSIVE);

describe('every documented prop deploys and does what it says', () => {
  test('the matrix flips every option the props interfaces declare, each to a value it sets, other than its documented default', () => {
    const defaults = declaredDefaults();
    expect(defaults.size).toBeGreaterThanOrEqual(80);
    expect({ notFlipped: [...defaults.keys()].filter((option) => !(option in FLIPPED)) }).toEqual({ notFlipped: [] });
    expect({ flipsOfUnknownOptions: OPTIONS.filter((option) => !defaults.has(option)) }).toEqual({ flipsOfUnknownOptions: [] });
    const scope = new Stack();
    const unset = OPTIONS.filter((option) => valueAt(FLIPPED[option](scope), option) === undefined);
    expect({ flipsLeavingTheOptionUnset: unset }).toEqual({ flipsLeavingTheOptionUnset: [] });
    // The defaults written as code (`8`, `Duration.minutes(5)`, ...); the others are prose, and the flip's mark in
    // the templates (below) shows that the flip differs from them.
    const documented = OPTIONS.map((option) => [option, documentedDefault(defaults.get(option))] as const).filter(([, d]) => d !== undefined);
    expect(documented.length).toBeGreaterThanOrEqual(40);
    const flipsToTheDefault = documented.filter(([option, d]) => comparable(valueAt(FLIPPED[option](scope), option)) === comparable(d!.value))
      .map(([option]) => `${option}: ${defaults.get(option)}`);
    expect({ flipsToTheDefault }).toEqual({ flipsToTheDefault: [] });
  });

  test('every flip names the mark it leaves in the templates, and the sets cover every pair of options', () => {
    expect({ withoutMark: OPTIONS.filter((option) => !SHOWS[option]), marksOfUnknownOptions: Object.keys(SHOWS).filter((o) => !(o in FLIPPED)) })
      .toEqual({ withoutMark: [], marksOfUnknownOptions: [] });
    expect(SETS.length).toBeLessThanOrEqual(16);
    expect(uncoveredPairs(OPTIONS, SETS, EXCLUSIVE)).toEqual([]);
    expect(SETS.filter((set) => EXCLUSIVE.some(([a, b]) => set.includes(a) && set.includes(b)))).toEqual([]);
  });

  test('the options of a failing set are narrowed down to those that cause the failure', () => {
    const tried: string[][] = [];
    const culprits = narrowDown(OPTIONS, (subset) => {
      tried.push(subset);
      return subset.includes('glue.timeout') && subset.includes('dms.multiAz');
    });
    expect(culprits.sort()).toEqual(['dms.multiAz', 'glue.timeout']);
    expect(tried.length).toBeLessThan(OPTIONS.length);
  });

  test('the options that exclude each other are refused together at synthesis, naming both', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'prop-matrix-'));
    try {
      const options = [...new Set(EXCLUSIVE.flat())];
      let message = '';
      try {
        synthesize(flipped(options), outdir);
      } catch (error) {
        message = String(error);
      }
      const lines = message.split('\n');
      const lastName = (option: string) => option.split('.').pop()!;
      const unrefused = EXCLUSIVE.filter(([a, b]) => !lines.some((line) => line.includes(lastName(a)) && line.includes(lastName(b))));
      expect({ message: message.slice(0, 80), unrefused }).toEqual({ message: expect.stringContaining('Validation failed'), unrefused: [] });
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('every set synthesizes, every flip leaves its mark, and cfn-lint reports nothing on any template of any set', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'prop-matrix-'));
    try {
      const defaults = synthesize(() => ({}), outdir);
      const problems: string[] = [];
      const synthesized = new Map<string, { templates: Templates; options?: string[] }>([['defaults', { templates: defaults }]]);
      const failsToSynthesize = (options: string[]) => {
        try {
          synthesize(flipped(options), outdir);
          return false;
        } catch {
          return true;
        }
      };
      SETS.forEach((options, index) => {
        try {
          synthesized.set(`covering set ${index + 1}`, { templates: synthesize(flipped(options), outdir), options });
        } catch (error) {
          problems.push(`covering set ${index + 1} fails to synthesize, because of ${narrowDown(options, failsToSynthesize).join(' + ')}: ${error}`);
        }
      });
      for (const [name, propsFor] of Object.entries(COMBINATIONS)) {
        try {
          synthesized.set(name, { templates: synthesize(propsFor, outdir) });
        } catch (error) {
          problems.push(`${name} fails to synthesize: ${error}`);
        }
      }

      // Each flip's mark, in every covering set that flips it (unless a flip there takes away what it changes).
      const showsIn = (option: string, others: string[]) => showsFlip(synthesize(flipped([...others, option]), outdir), defaults, SHOWS[option]);
      for (const option of OPTIONS) {
        const sets = [...synthesized.entries()].filter(([, set]) => set.options?.includes(option));
        const unmarked = sets.filter(([, set]) => !masked(option, set.options!) && !showsFlip(set.templates, defaults, SHOWS[option]));
        if (sets.every(([, set]) => masked(option, set.options!))) {
          problems.push(`${option} is flipped only in sets that mask it`);
        }
        for (const [name, set] of unmarked.slice(0, 1)) {
          const alone = showsIn(option, []);
          const others = set.options!.filter((o) => o !== option);
          problems.push(alone
            ? `${option} leaves no mark in ${name}, because of ${narrowDown(others, (subset) => !showsIn(option, subset)).join(' + ')}`
            : `${option} leaves its templates unchanged: flipped alone, it shows no ${JSON.stringify(SHOWS[option])}`);
        }
      }

      // cfn-lint: each distinct template once, named after the first set that made it.
      const lintDir = path.join(outdir, 'lint');
      fs.mkdirSync(lintDir);
      const distinct = new Map<string, { set: string; file: string }>();
      for (const [name, { templates }] of synthesized) {
        for (const [file, template] of Object.entries(templates)) {
          // Templates that differ only in asset hashes (a root whose nested templates changed) lint alike.
          const body = JSON.stringify(template, undefined, 1);
          const hash = createHash('sha256').update(body.replace(/[0-9a-f]{64}/g, 'HASH')).digest('hex').slice(0, 16);
          if (!distinct.has(hash)) {
            fs.writeFileSync(path.join(lintDir, `${hash}.template.json`), body);
            distinct.set(hash, { set: name, file });
          }
        }
      }
      expect(distinct.size).toBeGreaterThanOrEqual(12);
      const findings = lint(fs.readdirSync(lintDir).map((f) => path.join(lintDir, f)));
      for (const finding of findings) {
        const { set, file } = distinct.get(path.basename(finding.Filename, '.template.json'))!;
        const options = synthesized.get(set)!.options;
        const cause = options && findings.indexOf(finding) < 3
          ? `, because of ${narrowDown(options, (subset) => lintSet(synthesize(flipped(subset), outdir), outdir).some((f) => f.Rule.Id === finding.Rule.Id)).join(' + ')}`
          : '';
        problems.push(`${finding.Level} ${finding.Rule.Id} in ${set}: ${file}${cause}: ${finding.Message}`);
      }

      // Upgrade safety: no custom resource's handler may run before its policies, on create or on update.
      for (const [name, { templates }] of synthesized) {
        problems.push(...upgradeSafetyFindings(templates).map((finding) => `upgrade safety in ${name}: ${finding}`));
      }
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }, 900_000);
});
