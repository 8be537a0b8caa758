// Client-supplied text shown back in error messages (ids, names, file names from an upload): at most a
// short prefix of it, so a 10 MB id cannot come back as a 20 MB error (issue 20, finding 6). Shared by
// the API's errors and the upload checks, which run in both processes.

/** characters of one client string an error shows */
export const CLIENT_TEXT_PREFIX = 64;

/** `text` cut to its first `max` characters + "…" (never splitting a surrogate pair) */
export function clip(text: string, max = CLIENT_TEXT_PREFIX): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** `text` clipped and quoted as JSON, the way messages name a file or a value */
export function quote(text: string, max = CLIENT_TEXT_PREFIX): string {
  return JSON.stringify(clip(text, max));
}
