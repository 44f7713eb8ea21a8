import { CI_FORMAT_IDS, isCiFormat, renderCiFormat, type CiFormatId } from './ci-systems.js';
import { fileCommandEntry } from '../output/file-commands.js';

/** Renders variables for a shell or env file. Pure; values are paths and options, never certificate content. */
type ShellFormat = 'sh' | 'powershell' | 'dotenv' | 'github';
export type EnvFormat = ShellFormat | CiFormatId;
export const ENV_FORMATS: readonly EnvFormat[] = ['sh', 'powershell', 'dotenv', 'github', ...CI_FORMAT_IDS];

/** Other CI systems' forms come from ci-systems.ts, with the consumer limits worth a warning on stderr. */
export function formatVariables(
  variables: ReadonlyArray<{ name: string; value: string }>,
  format: EnvFormat,
  warn: (line: string) => void = () => {},
): string {
  if (isCiFormat(format)) {
    const rendered = renderCiFormat(format, variables);
    rendered.warnings.forEach(warn);
    return rendered.text;
  }
  return variables.map(({ name, value }) => formatOne(name, value, format)).join('');
}

function formatOne(name: string, value: string, format: ShellFormat): string {
  switch (format) {
    case 'sh':
      return `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`;
    case 'powershell':
      return `$env:${name} = '${value.replace(/'/g, "''")}'\n`;
    case 'dotenv':
      return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"\n`;
    case 'github':
      // GITHUB_ENV syntax, always as a heredoc with a random delimiter (src/output/file-commands.ts).
      return fileCommandEntry(name, value);
  }
}
