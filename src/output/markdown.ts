/**
 * The Markdown/HTML sink for job summaries: untrusted text (certificate names, paths, proxy answers, file names in an
 * image) is written as HTML entities wherever Markdown or HTML would give it meaning, so it can neither open a link,
 * an image, a code span or a tag nor break the table it sits in (`[`, `]`, `!`, `<`, `>`, `&`, quotes, `|`, backtick,
 * a backslash that would escape our own pipe, and what GFM autolinks); line breaks become spaces. Emphasis characters
 * are left as they are: they change no meaning and keep paths readable. Pure.
 */
const SPECIAL = /[&<>"'|`[\]!\\@]/g;
/** The HTML names where there is one, as summaries have always written them; numeric references for the rest. */
const NAMED: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** Text for a summary paragraph or a table cell: one line, nothing rendered. */
export function escapeMarkdown(text: string): string {
  // '@', the colon of '://' and the dot of 'www.' too: GFM turns e-mail addresses, bare URLs and www. names into links.
  return text
    .replace(CONTROL, ' ')
    .replace(SPECIAL, (c) => NAMED[c] ?? `&#${c.charCodeAt(0)};`)
    .replace(/:\/\//g, '&#58;//')
    .replace(/(www)\./gi, '$1&#46;');
}

/** Text shown as code: `<code>` rather than backticks, so a backtick in it cannot end the span and entities still decode. */
export function markdownCode(text: string): string {
  return `<code>${escapeMarkdown(text)}</code>`;
}
