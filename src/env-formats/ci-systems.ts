/**
 * The output forms of `org-ca env` for CI systems other than GitHub Actions, one entry per consumer, each following
 * that consumer's documented parsing rules (cited in its file). The shell forms (sh, powershell, dotenv, github)
 * stay in src/env-formats/format.ts.
 */
import { azureFormat } from './azure.js';
import { buildkiteFormat, circleciFormat } from './bash.js';
import { gitlabFormat } from './gitlab.js';
import { jenkinsFormat } from './jenkins.js';
import type { CiFormat, CiVariable } from './types.js';

export type CiFormatId = 'gitlab' | 'azure' | 'buildkite' | 'circleci' | 'jenkins';

export const CI_FORMATS: Readonly<Record<CiFormatId, CiFormat>> = {
  gitlab: gitlabFormat,
  azure: azureFormat,
  buildkite: buildkiteFormat,
  circleci: circleciFormat,
  jenkins: jenkinsFormat,
};

export const CI_FORMAT_IDS = Object.keys(CI_FORMATS) as CiFormatId[];

export function isCiFormat(id: string): id is CiFormatId {
  return Object.hasOwn(CI_FORMATS, id);
}

export interface Rendered {
  readonly text: string;
  readonly warnings: readonly string[];
}

/** Renders for one CI system; throws FormatError when a value cannot be carried by it. */
export function renderCiFormat(id: CiFormatId, variables: readonly CiVariable[]): Rendered {
  const format = CI_FORMATS[id];
  const text = format.render(variables);
  return { text, warnings: format.warnings?.(variables, text) ?? [] };
}

export { FormatError, type CiVariable } from './types.js';
