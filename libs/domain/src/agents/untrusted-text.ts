/**
 * Text that came from a payload or from GitHub (titles, bodies, check names and output, file
 * names, Codegen's summaries) is data. These helpers keep it from acting as anything else: in a
 * prompt it sits inside blocks fenced by a random per-prompt token it cannot contain, in a PR
 * comment it cannot mention anyone or add markup.
 */

/** A fresh fence token: 24 hex digits from the platform's CSPRNG, unguessable per prompt. */
export function newBoundary(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One line of untrusted text: control, zero-width and bidi characters become spaces (no new
 * lines, nothing hidden), whitespace collapses, every `forbidden` string (the fence token) is
 * removed, and the result is capped at `max` characters with an ellipsis.
 */
export function cleanLine(value: unknown, max: number, forbidden: readonly string[] = []): string {
  if (typeof value !== 'string') return '';
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    out += isUnsafe(code) ? ' ' : char;
    if (out.length > max * 2 + 256) break; // enough input for the cap even after collapsing
  }
  for (const token of forbidden) {
    if (token.length === 0) continue;
    // Repeat: removing one occurrence may join two halves into another.
    let before: string;
    do {
      before = out;
      out = out.split(token).join('');
    } while (out !== before);
  }
  const collapsed = out.replace(/\s+/g, ' ').trim();
  if (collapsed.length <= max) return collapsed;
  const cut = collapsed.slice(0, max - 1);
  // Do not leave half a surrogate pair at the cut.
  const last = cut.charCodeAt(cut.length - 1);
  return `${last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut}…`;
}

function isUnsafe(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff ||
    (code >= 0xd800 && code <= 0xdfff) // lone surrogates only: pairs arrive as one code point
  );
}

/** The first line of a data block; the prompt explains it. */
export function blockStart(boundary: string, label: string): string {
  return `BEGIN UNTRUSTED DATA ${boundary} (${label})`;
}

/** The only line that ends a data block. */
export function blockEnd(boundary: string): string {
  return `END UNTRUSTED DATA ${boundary}`;
}

/**
 * A fenced block of untrusted lines, at most `maxChars` long in all (lines that do not fit are
 * counted in a final note). Each line must come from {@link cleanLine} with the boundary
 * forbidden, so no line can end the block early. Null when not even the fence fits.
 */
export function dataBlock(
  boundary: string,
  label: string,
  lines: readonly string[],
  maxChars: number,
): string | null {
  const start = blockStart(boundary, label);
  const end = blockEnd(boundary);
  const note = (n: number): string => `… ${n} more omitted`;
  const budget = maxChars - start.length - end.length - 2;
  if (budget < note(lines.length).length + 1) return null;
  let body = '';
  for (let i = 0; i < lines.length; i += 1) {
    const reserve = i < lines.length - 1 ? note(lines.length).length + 1 : 0;
    if (body.length + lines[i].length + 1 + reserve > budget) {
      body += `${note(lines.length - i)}\n`;
      break;
    }
    body += `${lines[i]}\n`;
  }
  return `${start}\n${body}${end}`;
}

/**
 * Untrusted text for a Markdown comment the service posts: one line, capped, with `@mentions`
 * broken (a zero-width space after `@`, so nobody is notified), HTML and Markdown link/image
 * syntax escaped, and backticks dropped so a code span cannot be closed early.
 */
export function commentText(value: unknown, max: number): string {
  const line = cleanLine(value, max);
  return neutraliseMentions(
    line
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/`/g, "'")
      .replace(/([[\]!|*_~\\])/g, '\\$1'),
  );
}

/** `@name` → `@\u200Bname`: GitHub shows the text but notifies no user or team. */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9_-])/g, '@\u200B');
}
