// native/build.mjs on a copy of native/ with a C error planted: `npm run build:native` (--strict,
// what CI runs) fails with the compiler's error shown; the install step (no flag) reports the
// failed compile with the compiler's error but never fails the install. Needs what a build needs
// (make, a C compiler, OpenBLAS's cblas.h, Node's headers): skipped without them, except in CI.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const NATIVE = path.resolve(import.meta.dirname, '../../../native');
const runs = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const cblas = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/local/include'].some((d) =>
  existsSync(path.join(d, 'cblas.h')),
);
const headers = existsSync(path.resolve(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h'));
const canBuild = cblas && headers && runs('make') && runs(process.env.CC ?? 'cc');
if (!canBuild && process.env.CI === 'true')
  throw new Error('CI=true but the native addon cannot be built here (make, cc, cblas.h, Node headers)');

const dir = mkdtempSync(path.join(os.tmpdir(), 'glimpse-native-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** native/ copied without its build, with `int x = ;` planted in addon.c */
function brokenCopy(): string {
  const copy = path.join(dir, `native-${Math.random().toString(36).slice(2)}`);
  const built = path.join(NATIVE, 'build');
  cpSync(NATIVE, copy, { recursive: true, filter: (src) => src !== built && !src.startsWith(built + path.sep) });
  const addon = path.join(copy, 'addon.c');
  writeFileSync(addon, `${readFileSync(addon, 'utf8')}\nstatic int planted_error = ;\n`);
  return copy;
}

function build(copy: string, ...args: string[]) {
  const { npm_execpath: _, ...env } = process.env; // the node-gyp bundled with npm, as outside npm scripts
  const r = spawnSync(process.execPath, [path.join(copy, 'build.mjs'), ...args], { encoding: 'utf8', env, timeout: 180_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!canBuild)('native/build.mjs', () => {
  it('--strict (npm run build:native, CI) fails on a compile error and shows the compiler error', () => {
    const copy = brokenCopy();
    const { status, output } = build(copy, '--strict');
    expect(status, output).toBe(1);
    expect(output).toMatch(/addon\.c:\d+:\d+: error:/);
    expect(output).toContain('native kernels NOT built');
    expect(existsSync(path.join(copy, 'build', 'Release', 'glimpse_kernels.node'))).toBe(false);
  });

  it('the install step reports the failed compile with the compiler error and does not fail the install', () => {
    const copy = brokenCopy();
    const { status, output } = build(copy);
    expect(status, output).toBe(0);
    expect(output).toContain('the C compile FAILED');
    expect(output).toMatch(/addon\.c:\d+:\d+: error:/);
    expect(existsSync(path.join(copy, 'build'))).toBe(false);
  });
});
