// Install step (package.json postinstall): builds the optional native GEMM addon
// (native/gemm.c → native/build/Release/glimpse_blas.node) with node-gyp against this Node's own
// headers and the system OpenBLAS. Never fails the install and downloads nothing: without Node's
// headers, node-gyp, a C compiler or OpenBLAS's cblas.h it prints one line and leaves the addon
// absent (the wasm backend then keeps its XNNPACK matrix products).
//   node native/build.mjs [--verbose]
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const verbose = process.argv.includes('--verbose');

function skip(why) {
  rmSync(path.join(here, 'build'), { recursive: true, force: true });
  console.log(`[glimpse] native GEMM not built (${why}); matrix products stay on wasm/XNNPACK`);
  process.exit(0);
}

// Node's own headers (Debian's nodejs, the official tarballs): node-gyp would otherwise download them
const nodedir = path.resolve(path.dirname(process.execPath), '..');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) skip(`no Node headers under ${nodedir}/include/node`);

const cblas = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/local/include'];
if (!cblas.some((dir) => existsSync(path.join(dir, 'cblas.h')))) skip('no cblas.h: apt install libopenblas-dev');

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
});
if (verbose) process.stdout.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
const built = path.join(here, 'build', 'Release', 'glimpse_blas.node');
if (result.status !== 0 || !existsSync(built)) {
  const lines = `${result.stderr ?? ''}${result.error?.message ?? ''}`.split('\n').filter((l) => /error/i.test(l));
  skip(lines[0]?.trim().slice(0, 200) || `node-gyp exited with ${result.status}`);
}
// a library that links but cannot load (no libopenblas.so at run time) is no addon either
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(built)}).getThreads()`], { encoding: 'utf8' });
if (check.status !== 0) skip(`built but does not load: ${(check.stderr ?? '').split('\n').find((l) => l.trim()) ?? ''}`);
console.log(`[glimpse] native GEMM built: ${path.relative(process.cwd(), built)}`);
