import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Every synthesis without an outdir writes its cloud assembly, asset copies included (tens of MB), into a new
 * directory under the system temp dir, and nothing removes them. The test workers get a temp dir of their own,
 * removed when the run ends, so repeated runs do not fill the disk.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-migration-pipeline-tests-'));
  process.env.TMPDIR = dir;
  return () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) {
      delete process.env.TMPDIR;
    } else {
      process.env.TMPDIR = previous;
    }
  };
}
