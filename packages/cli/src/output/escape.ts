/**
 * Text for a terminal. Names come from the files, buckets and snapshots being backed up, and a
 * name may hold anything but `/` and NUL: a newline that forges a line of output, or an escape
 * sequence that recolours, retitles or clears the terminal. Every human line the CLI prints goes
 * through `escapeControls` (see output.ts and cli.ts); -json output stays raw (JSON escapes them).
 *
 * As GNU `ls --quoting-style=escape`: the C0 controls and DEL as `\n`, `\t`, `\r`, `\a`, `\b`,
 * `\f`, `\v` or `\xNN`, the C1 controls (U+0080-U+009F) as `\u0080`-`\u009f`, and the backslash
 * itself as `\\`, so that an escaped name never reads as another one.
 */

const NAMED: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\\': '\\\\',
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\]/g;

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  const hex = code.toString(16).padStart(2, '0');
  return code >= 0x80 ? `\\u00${hex}` : `\\x${hex}`;
}

/** `text` with every control character and backslash escaped: safe to print on a terminal. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}
