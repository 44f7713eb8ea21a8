/** Renders variables for a shell or env file. Pure; values are paths and options, never certificate content. */
export type EnvFormat = 'sh' | 'powershell' | 'dotenv' | 'github';
export const ENV_FORMATS: readonly EnvFormat[] = ['sh', 'powershell', 'dotenv', 'github'];

export function formatVariables(variables: ReadonlyArray<{ name: string; value: string }>, format: EnvFormat): string {
  return variables.map(({ name, value }) => formatOne(name, value, format)).join('');
}

function formatOne(name: string, value: string, format: EnvFormat): string {
  switch (format) {
    case 'sh':
      return `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`;
    case 'powershell':
      return `$env:${name} = '${value.replace(/'/g, "''")}'\n`;
    case 'dotenv':
      return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"\n`;
    case 'github':
      // GITHUB_ENV syntax: NAME=value, or a heredoc for multi-line values.
      return value.includes('\n') ? `${name}<<ORG_CA_EOF\n${value}\nORG_CA_EOF\n` : `${name}=${value}\n`;
  }
}
