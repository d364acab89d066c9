import * as fs from 'fs';
import * as path from 'path';

/**
 * The folder holding the code that runs in AWS (Lambda handlers, the Glue script, custom resources).
 * It sits beside this file's folder both in `src/` and, once compiled, in `lib/`.
 */
export const RUNTIME_DIR = path.join(__dirname, '..', 'runtime');

/** Reads one runtime source file, so that the template carries exactly the code the tests execute. */
export function readRuntimeSource(fileName: string): string {
  return fs.readFileSync(path.join(RUNTIME_DIR, fileName), 'utf-8');
}
