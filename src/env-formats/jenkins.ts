import type { CiFormat } from './types.js';

/**
 * A Java properties file for the Pipeline Utility Steps `readProperties` step, which loads it with
 * java.util.Properties.load: `\` escapes, `\n` `\r` `\t` `\f` and `\uXXXX`, separators `=` `:` and white space,
 * `#`/`!` comments, and a leading space dropped unless escaped. The file is written the way Properties.store
 * writes it (ASCII only, everything else as \uXXXX), so every value round-trips, new lines included.
 * The Jenkinsfile then hands the map to withEnv: `withEnv(props.collect { k, v -> "${k}=${v}" }) { … }`.
 * Sources: docs.oracle.com/en/java/javase/21/docs/api/java.base/java/util/Properties.html#load(java.io.Reader);
 * jenkins.io/doc/pipeline/steps/pipeline-utility-steps/#readproperties-read-properties-from-files-in-the-workspace-or-text
 */
export function propertiesEscape(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\f') out += '\\f';
    // A space is significant at the start of a value and anywhere in a key; elsewhere it is kept as is.
    else if (c === ' ') out += i === 0 || isKey ? '\\ ' : ' ';
    else if ('=:#!'.includes(c)) out += `\\${c}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

export const jenkinsFormat: CiFormat = {
  id: 'jenkins',
  consumer: 'Jenkins: a properties file for readProperties (Pipeline Utility Steps), passed on to withEnv',
  sources: [
    'https://www.jenkins.io/doc/pipeline/steps/pipeline-utility-steps/',
    'https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/util/Properties.html',
  ],
  render: (variables) =>
    `# org-ca: readProperties file for withEnv\n${variables.map(({ name, value }) => `${propertiesEscape(name, true)}=${propertiesEscape(value, false)}\n`).join('')}`,
};
