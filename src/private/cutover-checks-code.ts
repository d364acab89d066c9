import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RUNTIME_DIR } from './runtime-code';

/** The handler of the cutover's database checks, and the pinned driver it needs (with its wheel's hash). */
export const CUTOVER_CHECKS_SOURCE = 'cutover_checks.py';
export const CUTOVER_CHECKS_REQUIREMENTS = 'cutover_checks.requirements.txt';

/**
 * The pip command that installs the pinned driver into `outputDir`: wheels only (no build step runs on the
 * synthesizing machine), every file checked against the hash in the requirements file, nothing else resolved.
 */
export function pipInstallArguments(requirementsFile: string, outputDir: string): string[] {
  return ['-m', 'pip', 'install', '--require-hashes', '--no-deps', '--only-binary=:all:', '--no-compile',
    '--disable-pip-version-check', '--quiet', '--target', outputDir, '-r', requirementsFile];
}

/** Where the pip command could not run: what failed and what the user can do, never a bare stack trace. */
export function bundlingFailure(detail: string): Error {
  return new Error(
    'The cutover checks function needs PyMySQL in its code (Lambda\'s Python runtime has no MySQL driver), and the ' +
    `synthesis could not install it: ${detail.trim().slice(-600)}. ` +
    'Synthesize on a machine with python3 and pip that reaches PyPI (or a pip index set with PIP_INDEX_URL), ' +
    `or with Docker running; the driver is pinned with its hash in ${CUTOVER_CHECKS_REQUIREMENTS}.`,
  );
}

/**
 * Where this user's earlier syntheses left the installed driver, by the requirements file's hash: an app that
 * synthesizes many stacks, or many times, runs pip once. The directory is the user's own (mode 700, checked), so no
 * other user of the machine can put code into the function.
 */
export function driverCacheDir(requirementsFile: string): string {
  const digest = crypto.createHash('sha256').update(fs.readFileSync(requirementsFile)).digest('hex').slice(0, 16);
  // TMPDIR as this process sees it (os.tmpdir() reads the environment of the host process, which a test runner's may hide).
  const root = path.join(process.env.TMPDIR || os.tmpdir(), `cdk-migration-pipeline-${os.userInfo().uid}`);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(root);
  const permissions = (stat.mode % 0o1000).toString(8).padStart(3, '0');
  if (stat.uid !== os.userInfo().uid || !permissions.endsWith('00')) {
    throw new Error(`${root} must belong to this user with mode 700; remove it and synthesize again`);
  }
  return path.join(root, `pymysql-${digest}`);
}

function installDriver(python: string, requirementsFile: string): string | undefined {
  const cache = driverCacheDir(requirementsFile);
  if (fs.existsSync(cache)) return cache;
  const staging = fs.mkdtempSync(`${cache}.partial-`);
  try {
    execFileSync(python, pipInstallArguments(requirementsFile, staging),
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env }); // pip's settings (PIP_INDEX_URL, proxies) apply
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    const failed = error as { code?: string; stderr?: Buffer; message: string };
    if (failed.code === 'ENOENT') return undefined; // no python3 here: the Docker image bundles instead
    throw bundlingFailure(failed.stderr?.toString() || failed.message);
  }
  // A rename is atomic: a concurrent synthesis sees the whole install or none (and keeps its own if it lost the race).
  try {
    fs.renameSync(staging, cache);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return cache;
}

function bundleLocally(outputDir: string, python: string): boolean {
  const driver = installDriver(python, path.join(RUNTIME_DIR, CUTOVER_CHECKS_REQUIREMENTS));
  if (!driver) return false;
  fs.cpSync(driver, outputDir, { recursive: true });
  fs.copyFileSync(path.join(RUNTIME_DIR, CUTOVER_CHECKS_SOURCE), path.join(outputDir, 'index.py'));
  return true;
}

/**
 * The cutover checks function's code: the handler as index.py and PyMySQL, installed at synthesis by pip from the
 * pinned, hashed requirement. Locally with `python3` when it exists (once per user and pin, see driverCacheDir), else
 * in Lambda's Python build image (Docker).
 * The asset's hash covers only the two files, so an unchanged handler and pin keep the same code on update.
 */
export function cutoverChecksCode(runtime: lambda.Runtime, python: string = 'python3'): lambda.Code {
  return lambda.Code.fromAsset(RUNTIME_DIR, {
    exclude: ['*', `!${CUTOVER_CHECKS_SOURCE}`, `!${CUTOVER_CHECKS_REQUIREMENTS}`],
    bundling: {
      image: runtime.bundlingImage ?? DockerImage.fromRegistry('public.ecr.aws/sam/build-python3.12'),
      command: ['bash', '-c', `python ${pipInstallArguments(`/asset-input/${CUTOVER_CHECKS_REQUIREMENTS}`, '/asset-output').join(' ')} && cp /asset-input/${CUTOVER_CHECKS_SOURCE} /asset-output/index.py`],
      local: { tryBundle: (outputDir) => bundleLocally(outputDir, python) },
    },
  });
}
