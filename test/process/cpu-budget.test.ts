// The thread defaults follow the host (src/process/cpu-budget.ts, src/jobs/threads.ts): the usable CPUs
// from fake cgroup folders (v2 cpu.max, v1 cfs quota, nested cgroups) and a fake CPU count; the threads
// of each worker role; `npm start`'s split; explicit variables win and the product never exceeds the CPUs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workerThreads } from '../../src/jobs/threads.ts';
import { splitCpus, threadPlan, usableCpus } from '../../src/process/cpu-budget.ts';

const roots: string[] = [];
/** a fake cgroup mount: { 'relative/file': text } */
function cgroupRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'glimpse-cgroup-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), `${text}\n`);
  }
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('usable CPUs', () => {
  it('a container limited to 2 CPUs on a 64-core host gets 2 (cgroup v2 cpu.max at the namespace root)', () => {
    const cgroupRootDir = cgroupRoot({ 'cpu.max': '200000 100000' });
    expect(usableCpus({ cgroupRoot: cgroupRootDir, selfCgroup: '0::/', available: 64 }).cpus).toBe(2);
  });

  it('reads the cgroup of /proc/self/cgroup and its ancestors, the tightest quota winning, rounded down', () => {
    const root = cgroupRoot({
      'cpu.max': 'max 100000',
      'system.slice/cpu.max': '800000 100000',
      'system.slice/glimpse.service/cpu.max': '350000 100000',
    });
    const self = '0::/system.slice/glimpse.service';
    expect(usableCpus({ cgroupRoot: root, selfCgroup: self, available: 64 })).toMatchObject({ cpus: 3 });
    // a quota above the CPUs the scheduler allows: the CPUs
    expect(usableCpus({ cgroupRoot: root, selfCgroup: '0::/system.slice', available: 4 })).toMatchObject({ cpus: 4 });
  });

  it('cgroup v1: cfs_quota_us / cfs_period_us of the cpu controller; -1 is no limit', () => {
    const v1 = cgroupRoot({ 'cpu,cpuacct/cpu.cfs_quota_us': '150000', 'cpu,cpuacct/cpu.cfs_period_us': '100000' });
    expect(usableCpus({ cgroupRoot: v1, selfCgroup: '4:cpu,cpuacct:/docker/abc', available: 64 }).cpus).toBe(1);
    const none = cgroupRoot({ 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000' });
    expect(usableCpus({ cgroupRoot: none, selfCgroup: '4:cpu,cpuacct:/', available: 16 }).cpus).toBe(16);
  });

  it('no cgroup files: the affinity count; a quota under one CPU still gives 1', () => {
    expect(usableCpus({ cgroupRoot: cgroupRoot({}), selfCgroup: '', available: 12 }).cpus).toBe(12);
    expect(usableCpus({ cgroupRoot: cgroupRoot({ 'cpu.max': '50000 100000' }), selfCgroup: '0::/', available: 8 }).cpus).toBe(1);
  });

  it('on this machine: at least 1, at most the CPUs the scheduler allows', () => {
    const { cpus } = usableCpus();
    expect(cpus).toBeGreaterThanOrEqual(1);
  });
});

describe('threads per worker role', () => {
  const config = { nativeKernels: true, workerJobs: ['training', 'caption', 'dataset'] as const };

  it('a training worker spends its CPUs on OpenBLAS (native) or on wasm threads (no addon wanted), at most 8 wasm', () => {
    expect(threadPlan({ cpus: 16, trains: true, native: true })).toMatchObject({ wasmThreads: 1, blasThreads: 16 });
    expect(threadPlan({ cpus: 16, trains: true, native: false })).toMatchObject({ wasmThreads: 8, blasThreads: 1 });
    expect(threadPlan({ cpus: 2, trains: true, native: false })).toMatchObject({ wasmThreads: 2, blasThreads: 1 });
  });

  it('a caption worker uses one thread per batch, whatever the host', () => {
    expect(threadPlan({ cpus: 64, trains: false, native: true })).toMatchObject({ wasmThreads: 1, blasThreads: 1 });
  });

  it('explicit variables win; the other count is what the CPUs leave, and the product stays within them', () => {
    expect(threadPlan({ cpus: 8, trains: true, native: true, wasmThreads: 2 })).toMatchObject({ wasmThreads: 2, blasThreads: 4 });
    expect(threadPlan({ cpus: 8, trains: true, native: false, blasThreads: 4 })).toMatchObject({ wasmThreads: 2, blasThreads: 4 });
    expect(threadPlan({ cpus: 8, trains: true, native: true, wasmThreads: 3, blasThreads: 5 })).toMatchObject({
      wasmThreads: 3,
      blasThreads: 5,
    });
    for (const cpus of [1, 2, 3, 7, 64]) {
      for (const native of [true, false]) {
        for (const wasmThreads of [undefined, 1, 2, 8]) {
          const plan = threadPlan({ cpus, trains: true, native, wasmThreads });
          expect(plan.wasmThreads * plan.blasThreads, `${cpus} CPUs, native ${native}, wasm ${wasmThreads}`).toBeLessThanOrEqual(
            Math.max(cpus, wasmThreads ?? 1),
          );
        }
      }
    }
  });

  it('`npm start` leaves one CPU to its caption worker, or shares it where the native threads step back', () => {
    expect(splitCpus(16, true)).toEqual({ training: 15, caption: 1 });
    expect(splitCpus(2, true)).toEqual({ training: 1, caption: 1 });
    expect(splitCpus(1, true)).toEqual({ training: 1, caption: 1 });
    expect(splitCpus(4, false)).toEqual({ training: 4, caption: 4 });
    // the native kernels' threads step back while the caption worker holds a core: the trainer counts it too
    expect(splitCpus(16, true, true)).toEqual({ training: 16, caption: 1 });
    expect(splitCpus(2, true, true)).toEqual({ training: 2, caption: 1 });
    expect(splitCpus(1, true, true)).toEqual({ training: 1, caption: 1 });
  });

  it("a worker's config: GLIMPSE_CPUS first, else the detected CPUs (a fake 2-CPU quota on a 64-core host)", () => {
    const root = cgroupRoot({ 'cpu.max': '200000 100000' });
    const sources = { cgroupRoot: root, selfCgroup: '0::/', available: 64 };
    expect(workerThreads({ ...config, workerJobs: ['training'] }, sources)).toMatchObject({ wasmThreads: 1, blasThreads: 2 });
    expect(workerThreads({ ...config, cpus: 6 }, sources)).toMatchObject({ blasThreads: 6 });
    expect(workerThreads({ ...config, workerJobs: ['caption'], cpus: 6 }, sources)).toMatchObject({ wasmThreads: 1, blasThreads: 1 });
    expect(workerThreads({ ...config, blasThreads: 3 }, sources)).toMatchObject({ wasmThreads: 1, blasThreads: 3 });
    expect(workerThreads({ ...config }, sources).note).toMatch(/1 wasm × 2 OpenBLAS .*cgroup CPU quota 2\.00 of 64/);
  });
});
