// Builds the native kernels addon (native/*.c → native/build/Release/glimpse_kernels.node) with
// node-gyp against this Node's own headers and the system OpenBLAS. Downloads nothing.
//   node native/build.mjs            install step (package.json postinstall): never fails the install.
//                                    Without Node's headers, node-gyp, make, a C compiler or OpenBLAS's
//                                    cblas.h it prints one line and leaves the addon absent (the wasm
//                                    backend then keeps its XNNPACK kernels); a failed compile prints
//                                    the compiler's errors but still exits 0.
//   node native/build.mjs --strict   `npm run build:native` (CI): the compiler's output as it runs,
//                                    and any failure, missing prerequisites included, exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const ADDON = path.join(here, 'build', 'Release', 'glimpse_kernels.node');

/** The addon cannot be built here: one line, and a failure only when asked for it (--strict). */
function skip(why) {
  rmSync(path.join(here, 'build'), { recursive: true, force: true });
  if (strict) {
    console.error(`[glimpse] native kernels NOT built: ${why}`);
    process.exit(1);
  }
  console.log(`[glimpse] native kernels not built (${why}); the wasm backend keeps its XNNPACK kernels`);
  process.exit(0);
}

// Node's own headers (Debian's nodejs, the official tarballs): node-gyp would otherwise download them
const nodedir = path.resolve(path.dirname(process.execPath), '..');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) skip(`no Node headers under ${nodedir}/include/node`);

const cblas = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/local/include'];
if (!cblas.some((dir) => existsSync(path.join(dir, 'cblas.h')))) skip('no cblas.h: apt install libopenblas-dev');

// the tools node-gyp's Makefile runs: without them a build fails for want of a toolchain, not of our code
const runs = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
if (!runs('make')) skip('no make: apt install build-essential');
const cc = process.env.CC ?? 'cc';
if (!runs(cc)) skip(`no C compiler (${cc}): apt install build-essential`);

// node-gyp: on PATH inside npm scripts (npm's node-gyp-bin), else the copy bundled with npm
function nodeGyp() {
  const npmCli = process.env.npm_execpath;
  const candidates = [
    npmCli ? path.resolve(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : null,
    path.resolve(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter((p) => p != null && existsSync(p));
  return candidates.length > 0 ? [process.execPath, candidates[0]] : null;
}

const gyp = nodeGyp();
if (gyp == null) skip('node-gyp not found');
const result = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild', `--nodedir=${nodedir}`], {
  cwd: here,
  encoding: 'utf8',
  timeout: 120_000,
  env: { ...process.env, npm_config_offline: 'true' },
  // strict: the compiler's own output, as it runs
  stdio: strict ? 'inherit' : 'pipe',
});
if (result.status !== 0 || !existsSync(ADDON)) {
  if (strict) skip(`node-gyp exited with ${result.status ?? result.error?.message} (the compiler's output is above)`);
  // the prerequisites are there, so this is our code (or a broken toolchain): show the compiler's errors
  const errors = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l));
  console.log('[glimpse] native kernels: the C compile FAILED (npm run build:native shows everything):');
  for (const line of errors.slice(0, 20)) console.log(`  ${line}`);
  skip(`compile failed: ${errors[0]?.trim().slice(0, 200) || `node-gyp exited with ${result.status}`}`);
}
// a library that links but cannot load (no libopenblas.so at run time) is no addon either
const check = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(ADDON)}).abiVersion())`], { encoding: 'utf8' });
if (check.status !== 0) skip(`built but does not load: ${(check.stderr ?? '').split('\n').find((l) => l.trim()) ?? ''}`);
console.log(`[glimpse] native kernels built: ${path.relative(process.cwd(), ADDON)} (ABI ${check.stdout.trim()})`);
