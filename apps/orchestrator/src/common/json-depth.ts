/**
 * Deepest nesting accepted in a JSON body. GitHub payloads nest about ten levels; far deeper
 * ones parse, but every later recursive walk of them (class-transformer, JSON.stringify in the
 * event API, the worker) overflows the stack and turns into a 500.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * True when JSON text nests `{`/`[` deeper than {@link MAX_JSON_DEPTH}, brackets inside strings
 * skipped. A linear scan with no recursion; texts too short to be that deep are not scanned.
 */
export function nestsTooDeep(json: string): boolean {
  if (json.length <= 2 * MAX_JSON_DEPTH) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      // A backslash escapes the next character.
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
