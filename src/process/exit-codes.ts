// Exit statuses of Glimpse processes, in one place: their supervisors (src/process/supervisor.ts,
// systemd, Kubernetes) read them.

/** stopped after a drain (the first stop signal, or the worker's parent gone) */
export const EXIT_OK = 0;

/** start-up failed, an uncaught exception, or `npm start` / `npm run api` stopped at once by a second signal */
export const EXIT_FAILURE = 1;

/** the worker stopped at once by a second signal, without handing its work back (128 + SIGINT) */
export const EXIT_INTERRUPTED = 130;

/** the database stayed unreachable past GLIMPSE_DB_GRACE_SECONDS (EX_UNAVAILABLE) */
export const EXIT_DATABASE_LOST = 69;

/** a worker whose ML runtime is broken (EX_SOFTWARE): restart it with a fresh one */
export const EXIT_ML_RUNTIME_BROKEN = 70;
