/**
 * Everything the browser sends is untrusted: a user agent or a candidate line may carry ANSI
 * escapes (which would drive the engineer's terminal), bidi overrides (which would make a line
 * read differently than it is), or HTML. The field layer passes every such string through
 * `untrusted()` before it enters an event or a report, so every consumer (Ink, plain lines,
 * NDJSON, HTML) gets printable text; the HTML report escapes it again for markup.
 */

/** C0 and C1 controls, DEL, line/paragraph separators, and the bidi/directional format characters. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Printable, bounded text: unsafe characters become visible `\u{…}` escapes; long text is cut with `…`. */
export function untrusted(value: unknown, maxLength = 200): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return cut.replace(UNSAFE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
