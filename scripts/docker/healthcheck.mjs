// The image's HEALTHCHECK (Dockerfile): `node scripts/docker/healthcheck.mjs <path>` (/readyz: database reachable,
// migrations applied, not draining). In a container that runs the API (`api` or `all`) it asks
// http://127.0.0.1:$PORT<path> and is healthy on a 200 within 4 s; a worker container (`worker`) asks its own probe
// port, GLIMPSE_METRICS_PORT, when one is set (compose.yaml sets it: the worker is ready once it takes jobs), and
// otherwise its process running is its health (it exits on a broken ML runtime or a lost database, and its restart
// policy starts it again). The role is read from the container's first process.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '/readyz';
let args = [];
try {
  args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
} catch {
  // not Linux or no /proc: ask the API
}
const worker = args.includes('worker');
const probePort = process.env.GLIMPSE_METRICS_PORT;
if (worker && (!probePort || probePort === '0')) process.exit(0);

const port = worker ? probePort : process.env.PORT || '4000';
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    console.log(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    process.exit(1);
  }
} catch (e) {
  console.log(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
