// The global --backend option (or GLIMPSE_BACKEND) → initBackend, reported on stderr.

import { readVariable } from '../config/index.ts';
import { nativeBackendOptions } from '../jobs/native-env.ts';
import { initBackend, type BackendInfo } from '../ml/index.ts';

export async function startBackend(preferred: string | undefined): Promise<BackendInfo> {
  const info = await initBackend(preferred ?? readVariable('GLIMPSE_BACKEND'), nativeBackendOptions());
  process.stderr.write(`backend: ${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'})\n`);
  for (const note of info.notes) process.stderr.write(`  ${note}\n`);
  return info;
}
