// Creating the cluster: initdb into a fresh directory with a generated password (scram-sha-256).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childEnvironment } from '../../config/index.ts';
import type { Binaries } from './binaries.ts';
import { EmbeddedPostgresError } from './embedded-postgres-error.ts';
import { USER, type RunAs } from './os-user.ts';

const run = promisify(execFile);

export async function initialise(bin: Binaries, dir: string, ids: RunAs, password: string, durable: boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pwfile = join(tmpdir(), `glimpse-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids.uid !== undefined) {
    await chown(dir, ids.uid, ids.gid!);
    await chown(pwfile, ids.uid, ids.gid!);
  }
  try {
    await run(
      bin.initdb,
      [
        `--pgdata=${dir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        ...(durable ? [] : ['--no-sync']),
      ],
      { ...ids, env: childEnvironment({ LC_ALL: 'C' }) },
    );
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? String(cause);
    const hint =
      ids.uid !== undefined && /Permission denied/.test(stderr)
        ? ` (as root the server runs as the "${USER}" user, which must be able to reach ${dir}: make its parent folders traversable, e.g. chmod o+x, or choose another GLIMPSE_DATA_DIR)`
        : '';
    throw new EmbeddedPostgresError(`initdb failed in ${dir}: ${stderr}${hint}`, { cause });
  } finally {
    await rm(pwfile, { force: true });
  }
}
