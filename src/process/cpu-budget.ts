// The CPUs this process may use, and the thread defaults that follow from them: the one rule behind
// GLIMPSE_CPUS, GLIMPSE_WASM_THREADS and OPENBLAS_NUM_THREADS when they are unset (docs/operations.md,
// "Threads"). Shared by `npm start` (which splits the budget between its worker processes) and the
// worker (which spends its share).
//
// Usable CPUs = min(the CPUs the scheduler lets this process run on (os.availableParallelism():
// affinity, taskset, cpuset), the CPU quota of its cgroup and every ancestor: cgroup v2 `cpu.max`
// ("max 100000" or "<quota> <period>"), cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1:
// none)), rounded down, at least 1. A container limited to 2 CPUs on a 64-core host gets 2.
//
// Threads per worker role (never more threads than CPUs: OpenBLAS × wasm × processes ≤ CPUs):
//   training worker: every CPU of its share, on OpenBLAS where the native kernels are wanted (their
//     products take the time; the addon runs a product on one thread below a size where more do not
//     gain, src/ml DEFAULT_BLAS_PARALLEL_MIN), else on the threaded wasm build (at most 8)
//   caption (or dataset) worker: one thread (one request batch at a time)
//   `npm start` with a separate caption worker: the caption worker's share is 1 CPU; the training
//     worker's is every CPU where the native kernels are wanted (their threads step back to one while
//     another process holds a core: native/threads.c, "A core taken"), else the rest (at least 1)
// An explicit variable wins; the other count is then what the budget leaves (at least 1).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CpuSources {
  /** the cgroup file systems' mount point (default /sys/fs/cgroup) */
  cgroupRoot?: string;
  /** /proc/self/cgroup's text (default: read) */
  selfCgroup?: string;
  /** the CPUs the scheduler allows (default os.availableParallelism()) */
  available?: number;
}

export interface UsableCpus {
  cpus: number;
  /** where the number comes from, for the start-up log */
  source: string;
}

function readText(file: string): string | null {
  try {
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
  } catch {
    return null;
  }
}

/** `dir` and its ancestors down to `base` (both included) */
function upTo(base: string, dir: string): string[] {
  const out: string[] = [];
  let current = path.resolve(dir);
  const stop = path.resolve(base);
  if (!current.startsWith(stop)) return [stop];
  for (;;) {
    out.push(current);
    if (current === stop) return out;
    current = path.dirname(current);
  }
}

/** quota / period of one cgroup folder (v2 cpu.max, else v1 cfs files); null: no limit there */
function quotaOf(dir: string): number | null {
  const max = readText(path.join(dir, 'cpu.max'));
  if (max != null) {
    const [quota, period] = max.split(/\s+/);
    const q = Number(quota);
    const p = Number(period ?? 100000);
    return quota !== 'max' && q > 0 && p > 0 ? q / p : null;
  }
  const q = Number(readText(path.join(dir, 'cpu.cfs_quota_us')));
  const p = Number(readText(path.join(dir, 'cpu.cfs_period_us')));
  return Number.isFinite(q) && q > 0 && p > 0 ? q / p : null;
}

/** the folders whose quota bounds this process: its cgroup (v2 unified, v1 cpu controller) and their ancestors */
function cgroupDirs(root: string, selfCgroup: string): string[] {
  const dirs: string[] = [];
  for (const line of selfCgroup.split('\n')) {
    const [, controllers, cgroupPath] = line.split(':');
    if (cgroupPath === undefined) continue;
    const rel = cgroupPath.trim();
    if (controllers === '') dirs.push(...upTo(root, path.join(root, rel)));
    else if (controllers.split(',').includes('cpu')) {
      // v1: the controller's own mount (cpu,cpuacct or cpu); in a container it is the container's cgroup itself
      for (const mount of [controllers, 'cpu,cpuacct', 'cpu']) {
        const base = path.join(root, mount);
        if (existsSync(base)) dirs.push(...upTo(base, path.join(base, rel)));
      }
    }
  }
  // no /proc/self/cgroup (or a namespace that hides the path): the mount point itself
  dirs.push(root, path.join(root, 'cpu'), path.join(root, 'cpu,cpuacct'));
  return [...new Set(dirs)];
}

/** The CPUs this process may use (see the top). */
export function usableCpus(sources: CpuSources = {}): UsableCpus {
  const root = sources.cgroupRoot ?? '/sys/fs/cgroup';
  const available = Math.max(1, sources.available ?? os.availableParallelism());
  const selfCgroup = sources.selfCgroup ?? readText('/proc/self/cgroup') ?? '';
  const quotas = cgroupDirs(root, selfCgroup)
    .map(quotaOf)
    .filter((q): q is number => q != null);
  const quota = quotas.length > 0 ? Math.min(...quotas) : null;
  if (quota != null && quota < available) {
    return { cpus: Math.max(1, Math.floor(quota + 1e-9)), source: `cgroup CPU quota ${quota.toFixed(2)} of ${available} CPUs` };
  }
  return { cpus: available, source: `${available} usable CPUs (affinity)` };
}

/**
 * How `npm start` splits its CPUs: the training worker's and the caption worker's shares (GLIMPSE_CPUS of
 * each). `yields`: the training worker's threads step back while another process holds a core (the native
 * kernels: native/threads.c), so it may count the caption worker's CPU too — the caption worker is idle
 * most of the time; without that (XNNPACK's threads do not) it keeps off it.
 */
export function splitCpus(cpus: number, separateCaptionWorker: boolean, yields = false): { training: number; caption: number } {
  if (!separateCaptionWorker) return { training: cpus, caption: cpus };
  return { training: yields ? cpus : Math.max(1, cpus - 1), caption: 1 };
}

export interface ThreadRequest {
  /** this worker's share of CPUs */
  cpus: number;
  /** whether it takes training jobs */
  trains: boolean;
  /** whether the native OpenBLAS kernels are wanted */
  native: boolean;
  /** explicit GLIMPSE_WASM_THREADS / OPENBLAS_NUM_THREADS (they win) */
  wasmThreads?: number;
  blasThreads?: number;
}

export interface ThreadPlan {
  wasmThreads: number;
  blasThreads: number;
  /** how they were chosen, for the start-up log */
  note: string;
}

/** the most wasm threads tfjs' threaded build starts (src/ml/kernels/wasm-threads.ts MAX_WASM_THREADS) */
const WASM_THREADS_LIMIT = 8;

/** Threads for one worker (see the top). */
export function threadPlan(request: ThreadRequest): ThreadPlan {
  const cpus = Math.max(1, Math.floor(request.cpus));
  const budget = request.trains ? cpus : 1;
  const role = request.trains ? `training worker, ${cpus} CPU(s)` : 'caption worker: one thread per batch';
  let wasm: number;
  let blas: number;
  if (request.wasmThreads !== undefined && request.blasThreads !== undefined) {
    return { wasmThreads: request.wasmThreads, blasThreads: request.blasThreads, note: 'threads from the environment' };
  }
  if (request.wasmThreads !== undefined) {
    wasm = request.wasmThreads;
    blas = Math.max(1, Math.floor(budget / wasm));
  } else if (request.blasThreads !== undefined) {
    blas = request.blasThreads;
    wasm = Math.min(WASM_THREADS_LIMIT, Math.max(1, Math.floor(budget / blas)));
  } else if (request.native) {
    [wasm, blas] = [1, budget];
  } else {
    [wasm, blas] = [Math.min(WASM_THREADS_LIMIT, budget), 1];
  }
  return { wasmThreads: wasm, blasThreads: blas, note: `threads: ${wasm} wasm × ${blas} OpenBLAS (${role})` };
}
