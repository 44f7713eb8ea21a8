/**
 * The log-line sink: any text that reaches a job log or a terminal (a proxy's answer, a certificate's subject, a
 * registry's error body, a file name inside an image) becomes one printable line. The runner executes a line that
 * starts with `::` (GitHub) or `##vso[` (Azure Pipelines) as a command, `core.info` writes its text raw, and a
 * terminal obeys ANSI escapes: so every control character is shown escaped, and a line never begins with a command
 * marker. Pure.
 */

/** C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** What the runners treat as a command at the start of a line (after the spaces the runner trims). */
const COMMAND_START = /^(\s*)(::|##vso\[|##\[)/;

function visible(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\u001b':
      return '\\e';
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** One printable line: controls shown escaped (`\n`, `\e`, `\u0000`), and a leading command marker defused. */
export function logLine(text: string): string {
  return text.replace(CONTROL, visible).replace(COMMAND_START, '$1\u00b7 $2');
}

/** Several lines of org-ca's own text (a rendered report): each made safe on its own. */
export function logLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => logLine(line))
    .join('\n');
}
