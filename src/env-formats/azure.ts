import { FormatError, shown, type CiFormat } from './types.js';

/**
 * Azure Pipelines logging commands: `##vso[task.setvariable variable=NAME]value` on standard output. The agent
 * unescapes `%3B` `%0D` `%0A` `%5D` (for ; CR LF ]) in properties and data, then `%AZP25` as `%` (knob
 * DECODE_PERCENTS, on by default in current agents), so `%` is escaped first. Variables are macro-expanded when
 * tasks read them (`$(name)`), so a value holding `$(` cannot be carried literally.
 * Sources: microsoft/azure-pipelines-agent src/Agent.Sdk/CommandStringConvertor.cs and src/Agent.Sdk/Knob/AgentKnobs.cs
 * (DecodePercents); learn.microsoft.com/azure/devops/pipelines/scripts/logging-commands.
 */
const ESCAPES: ReadonlyArray<readonly [string, string]> = [
  [';', '%3B'],
  ['\r', '%0D'],
  ['\n', '%0A'],
  [']', '%5D'],
];

export function azureEscape(value: string): string {
  let escaped = value.replace(/%/g, '%AZP25');
  for (const [token, replacement] of ESCAPES) escaped = escaped.split(token).join(replacement);
  return escaped;
}

export const azureFormat: CiFormat = {
  id: 'azure',
  consumer:
    'Azure Pipelines agent (##vso[task.setvariable] logging commands on standard output; later steps get the variables)',
  sources: [
    'https://learn.microsoft.com/azure/devops/pipelines/scripts/logging-commands#setvariable-initialize-or-modify-the-value-of-a-variable',
  ],
  render(variables) {
    return variables
      .map(({ name, value }) => {
        if (value.includes('$(')) {
          throw new FormatError(
            `${name}=${shown(value)} cannot be set through ##vso[task.setvariable]: Azure Pipelines expands '$(…)' macros in variable values.`,
          );
        }
        return `##vso[task.setvariable variable=${name}]${azureEscape(value)}\n`;
      })
      .join('');
  },
};
