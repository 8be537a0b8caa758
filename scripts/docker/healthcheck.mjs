// The image's HEALTHCHECK (Dockerfile): `node scripts/docker/healthcheck.mjs <path>`. In a container that runs the
// API (`api` or `all`) it asks http://127.0.0.1:$PORT<path> and is healthy on a 200 within 4 s; a worker container
// (`worker`) has no port, and its process running is its health (it exits on a broken ML runtime or a lost
// database, and its restart policy starts it again). The role is read from the container's first process.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '/healthz';
let args = [];
try {
  args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
} catch {
  // not Linux or no /proc: ask the API
}
if (args.includes('worker')) process.exit(0);

const port = process.env.PORT || '4000';
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
