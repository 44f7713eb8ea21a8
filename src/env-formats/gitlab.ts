import { FormatError, shown, type CiFormat } from './types.js';

/**
 * GitLab's dotenv report (artifacts:reports:dotenv), as ParseDotenvArtifactService reads it: each line is split at
 * the first `=` (`line.scan(/^(.*?)=(.*)$/)`), both sides stripped of white space, quotes kept as they are (no
 * unquoting, no escapes), every line must match (an empty line fails the whole report), and the values are stored
 * with `raw: false`, so later jobs expand `$NAME` in them. Hence: written bare, and a value that starts or ends with
 * white space, holds a line break, or holds `$` cannot be carried.
 * Sources: gitlab-org/gitlab app/services/ci/parse_dotenv_artifact_service.rb; docs/ci/variables/dotenv_variables.md.
 */
export const GITLAB_DEFAULT_MAX_VARIABLES = 20;
export const GITLAB_DEFAULT_MAX_BYTES = 5 * 1024;

export const gitlabFormat: CiFormat = {
  id: 'gitlab',
  consumer: 'GitLab CI dotenv report (artifacts:reports:dotenv), read by the jobs of later stages',
  sources: [
    'https://docs.gitlab.com/ci/variables/dotenv_variables/',
    'https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/services/ci/parse_dotenv_artifact_service.rb',
  ],
  render(variables) {
    return variables
      .map(({ name, value }) => {
        const problem = /[\r\n]/.test(value)
          ? 'a line break'
          : value !== value.trim()
            ? 'white space at its start or end (GitLab strips it)'
            : value.includes('$')
              ? "'$' (GitLab expands variables in dotenv values)"
              : undefined;
        if (problem) {
          throw new FormatError(
            `${name}=${shown(value)} cannot go into a GitLab dotenv report: it holds ${problem}. Use --format sh in before_script instead, or choose another --dir.`,
          );
        }
        return `${name}=${value}\n`;
      })
      .join('');
  },
  warnings(variables, rendered) {
    const out: string[] = [];
    if (variables.length > GITLAB_DEFAULT_MAX_VARIABLES) {
      out.push(
        `${variables.length} variables: GitLab rejects a dotenv report with more than ${GITLAB_DEFAULT_MAX_VARIABLES} unless the instance limit (dotenv_variables) is raised; narrow them with --tools.`,
      );
    }
    const bytes = Buffer.byteLength(rendered);
    if (bytes >= GITLAB_DEFAULT_MAX_BYTES)
      out.push(
        `${bytes} bytes: GitLab's default dotenv report limit is under ${GITLAB_DEFAULT_MAX_BYTES}; narrow the variables with --tools.`,
      );
    return out;
  },
};
