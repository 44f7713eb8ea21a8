/**
 * Reads the settings that silently defeat NODE_EXTRA_CA_CERTS (a configured `cafile`/`ca` makes npm, yarn and bun pass
 * their own `ca` to TLS, and Node then ignores the extra certificates) and the settings that switch verification off.
 * Pure: callers hand in the files' text and the environment.
 */
export type ConfigKind = 'npmrc' | 'yarnrc' | 'yarnrc.yml' | 'bunfig' | 'gitconfig' | 'curlrc' | 'wgetrc' | 'pip.conf';

export interface ConfigFile {
  readonly path: string;
  readonly kind: ConfigKind;
  readonly text: string;
}

/** A configured CA that replaces Node's roots for one tool, and the environment variable that overrides it. */
export interface CaOverride {
  readonly where: string;
  readonly setting: string;
  readonly tool: string;
  /** The variable that beats the file setting; absent where the tool has no environment form. */
  readonly variable?: string;
}

export interface InsecureSetting {
  readonly where: string;
  readonly setting: string;
}

export interface ConfigScan {
  readonly caOverrides: readonly CaOverride[];
  readonly insecure: readonly InsecureSetting[];
}

type Env = Readonly<Record<string, string | undefined>>;

const FALSY = /^(false|0|no|off)$/i;

/** key = value lines of ini-like files (npmrc, yarnrc, wgetrc, pip.conf), with their [section]. */
function iniEntries(text: string): Array<{ section: string; key: string; value: string }> {
  const out: Array<{ section: string; key: string; value: string }> = [];
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = (header[1] ?? '').trim().toLowerCase();
      continue;
    }
    const kv = /^([^=\s]+)\s*[=\s]\s*(.*)$/.exec(line);
    if (kv)
      out.push({ section, key: (kv[1] ?? '').toLowerCase(), value: (kv[2] ?? '').trim().replace(/^"(.*)"$/, '$1') });
  }
  return out;
}

/** Top-level `key: value` of a YAML file such as .yarnrc.yml (nested keys are not CA settings we override). */
function yamlTopLevel(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z][\w-]*)\s*:\s*(.*?)\s*$/.exec(line);
    if (m) map.set(m[1] ?? '', (m[2] ?? '').replace(/^["'](.*)["']$/, '$1'));
  }
  return map;
}

export function scanConfigs(files: readonly ConfigFile[], env: Env): ConfigScan {
  const caOverrides: CaOverride[] = [];
  const insecure: InsecureSetting[] = [];
  for (const file of files) {
    switch (file.kind) {
      case 'npmrc':
      case 'yarnrc':
        for (const { key, value } of iniEntries(file.text)) {
          if ((key === 'cafile' || key === 'ca' || key === 'ca[]') && value) {
            // npm_config_* is read by npm, yarn 1 and pnpm ≤10 and beats every npmrc/yarnrc (npm docs: config sources).
            caOverrides.push({
              where: file.path,
              setting: key,
              tool: file.kind === 'npmrc' ? 'npm/yarn 1/pnpm' : 'yarn 1',
              variable: 'npm_config_cafile',
            });
          }
          if (key === 'strict-ssl' && FALSY.test(value))
            insecure.push({ where: file.path, setting: `strict-ssl=${value}` });
        }
        break;
      case 'yarnrc.yml': {
        const top = yamlTopLevel(file.text);
        // Yarn 4 renamed caFilePath to httpsCaFilePath, and each version rejects the other's key (yarnpkg/berry CHANGELOG).
        if (top.get('httpsCaFilePath'))
          caOverrides.push({
            where: file.path,
            setting: 'httpsCaFilePath',
            tool: 'yarn 4',
            variable: 'YARN_HTTPS_CA_FILE_PATH',
          });
        if (top.get('caFilePath'))
          caOverrides.push({
            where: file.path,
            setting: 'caFilePath',
            tool: 'yarn 2/3',
            variable: 'YARN_CA_FILE_PATH',
          });
        const strict = top.get('enableStrictSsl');
        if (strict && FALSY.test(strict)) insecure.push({ where: file.path, setting: `enableStrictSsl: ${strict}` });
        break;
      }
      case 'bunfig': {
        // bunfig [install] cafile/ca replaces the roots for `bun install`; bun has no environment form to override it.
        if (/^\s*(cafile|ca)\s*=/m.test(file.text))
          caOverrides.push({ where: file.path, setting: 'cafile', tool: 'bun install' });
        break;
      }
      case 'gitconfig':
        for (const { section, key, value } of iniEntries(file.text)) {
          if (section.startsWith('http') && key === 'sslverify' && FALSY.test(value))
            insecure.push({ where: file.path, setting: `http.sslVerify=${value}` });
        }
        break;
      case 'curlrc':
        for (const raw of file.text.split(/\r?\n/)) {
          const line = raw.trim();
          if (/^(-k|--?insecure)\b/.test(line)) insecure.push({ where: file.path, setting: line });
        }
        break;
      case 'wgetrc':
        for (const { key, value } of iniEntries(file.text)) {
          if (key === 'check_certificate' && FALSY.test(value))
            insecure.push({ where: file.path, setting: `check_certificate = ${value}` });
        }
        break;
      case 'pip.conf':
        for (const { key, value } of iniEntries(file.text)) {
          if (key === 'trusted-host' && value) insecure.push({ where: file.path, setting: 'trusted-host' });
        }
        break;
    }
  }

  const envNames = Object.keys(env);
  const envValue = (name: string): string | undefined => {
    const found = envNames.find((key) => key.toLowerCase() === name.toLowerCase());
    return found ? env[found] : undefined;
  };
  const envCafile = envValue('npm_config_cafile');
  if (envCafile)
    caOverrides.push({
      where: 'environment',
      setting: 'npm_config_cafile',
      tool: 'npm/yarn 1/pnpm',
      variable: 'npm_config_cafile',
    });
  const checks: Array<[string, (v: string) => boolean]> = [
    ['NODE_TLS_REJECT_UNAUTHORIZED', (v) => v === '0'],
    // "Setting and exporting this environment variable to any value tells Git not to verify" (git(1)).
    ['GIT_SSL_NO_VERIFY', (v) => v !== ''],
    ['PYTHONHTTPSVERIFY', (v) => v === '0'],
    ['npm_config_strict_ssl', (v) => FALSY.test(v)],
    ['YARN_ENABLE_STRICT_SSL', (v) => FALSY.test(v)],
    ['CONDA_SSL_VERIFY', (v) => FALSY.test(v)],
    ['PIP_TRUSTED_HOST', (v) => v !== ''],
    ['GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY', (v) => v === '1' || /^true$/i.test(v)],
  ];
  for (const [name, isOff] of checks) {
    const value = envValue(name);
    if (value !== undefined && isOff(value)) insecure.push({ where: 'environment', setting: `${name}=${value}` });
  }
  return { caOverrides, insecure };
}
