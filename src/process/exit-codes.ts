// Exit statuses of Glimpse processes, in one place: their supervisors (src/process/supervisor.ts,
// systemd, Kubernetes) read them.

/** the database stayed unreachable past GLIMPSE_DB_GRACE_SECONDS (EX_UNAVAILABLE) */
export const EXIT_DATABASE_LOST = 69;

/** a worker whose ML runtime is broken (EX_SOFTWARE): restart it with a fresh one */
export const EXIT_ML_RUNTIME_BROKEN = 70;
