// Tests that need a tool this machine may lack (Chromium, util-linux `script`): locally they skip and say
// why; in CI (`CI` set, as .ci/run sets it) a missing tool is a failure with its reason, never a silent skip.

/** `CI` is set (and not "false" or "0") */
export const inCi = !['', 'false', '0'].includes(process.env.CI ?? '');

/**
 * For `it.skipIf(skipWithout(missing))`: `missing` says what is absent (null: present). Locally: true (skip),
 * with a warning; in CI: throws, so the test file fails with the reason.
 */
export function skipWithout(missing: string | null): boolean {
  if (missing === null) return false;
  if (inCi) throw new Error(`CI is set: ${missing} (CI runs every test: no skip for a missing tool)`);
  console.warn(`${missing}: skipped`);
  return true;
}
