// Job priorities: one place that maps a row's JobPriority (LOW, NORMAL, HIGH) to pg-boss's integer priority
// (higher first; jobs of equal priority in creation order). Every queue that takes a priority sends through
// `priorityOption`: training (the run's priority, kept by every job of the run), bulk-caption, and any new
// queue. Caption requests have their own queue and workers, so no priority elsewhere delays them.
import type { JobPriority } from '../db/client.ts';

export const PRIORITY_VALUES: Readonly<Record<JobPriority, number>> = { LOW: -10, NORMAL: 0, HIGH: 10 };

/** pg-boss `send` options for a job of `priority` (NORMAL when absent) */
export function priorityOption(priority: JobPriority | null | undefined): { priority: number } {
  return { priority: PRIORITY_VALUES[priority ?? 'NORMAL'] };
}
