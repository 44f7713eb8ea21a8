import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { OptionError, oneOf, parseDuration } from '../options/parse.js';
import { parseProbeUrls } from '../detect/probe-urls.js';
import { parseToolList } from '../tools/tool-list.js';
import {
  ON_UNKNOWN_VALUES,
  ON_UNREACHABLE_VALUES,
  ON_VERIFICATION_OFF_VALUES,
  WHEN_VALUES,
} from '../options/values.js';
import { certificatesPem } from '../ca/bundle.js';
import { DEFAULT_PROBE_TIMEOUT_MS } from '../detect/detect.js';
import { STRATEGIES } from '../native/switch-plan.js';
import { JOB_PATHS, readConfig } from '../runner/config.js';
import { install, uninstall } from '../runner/install.js';
import { jobCompleted, jobStarted, PolicyFailure } from '../runner/job.js';
import { POLICY_FAILURE_EXIT } from '../runner/scripts.js';
import { currentPlatform, loadCaArgument } from './ca-options.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { logLine } from '../output/log-line.js';
import { present } from '../lang/present.js';

const DEFAULT_CACHE_TTL_MS = 5 * 60_000;

/**
 * The Node the hooks run: the runner's own Node 24 (it ships one in externals/node24 for `using: node24` actions) when
 * present, else the one running this install (which is 24 or later: the CLI refuses older ones before anything runs).
 */
export function hookNode(runnerDir: string, current: string, exists: (path: string) => boolean = existsSync): string {
  const runnerNode = join(runnerDir, 'externals', 'node24', 'bin', 'node');
  return exists(runnerNode) ? runnerNode : current;
}

const HELP = `Usage: org-ca runner install --runner-dir DIR --ca FILE|- [options]
       org-ca runner uninstall --runner-dir DIR [--hooks-dir DIR]

Makes every job on a self-hosted GitHub Actions runner trust the org CA, with no workflow change: writes the
job-started and job-completed hook scripts (and a copy of the CA) to a hooks directory, and adds
ACTIONS_RUNNER_HOOK_JOB_STARTED / _COMPLETED to the runner's .env, keeping every other line. Restart the runner
service afterwards: it reads .env when it starts. Uninstall restores .env byte for byte.

Each job start then makes the action's decision (the when rule, probes, classification), reusing a verdict for
--cache-ttl, writes the CA files to RUNNER_TEMP and the variables to GITHUB_ENV; each job end removes the files.
A hook fails the job only when the policy says so (a foreign intercepting CA with on-unknown fail, verification
switched off, no answer with on-unreachable fail); any failure of org-ca itself is a warning.

Install options:
  --runner-dir DIR            the runner's directory (holding run.sh and .env)
  --ca FILE                   the org CA (PEM, DER, base64 or .p7b); - reads standard input
                              (--ca-file FILE, the older spelling, is still accepted)
  --fingerprint SHA256        refuse to install unless the CA has this SHA-256 fingerprint
  --hooks-dir DIR             where the hooks go (default as root: /etc/org-ca/runner-hooks/NAME-HASH, root's own;
                              as the runner's user: DIR.org-ca-hooks beside the runner directory). It must be a
                              place only root (or you) can write: the hooks run in every job
  --when auto|self-hosted|always|never   as the action's input (default auto)
  --probe-urls LIST           as the action's input
  --probe-timeout DURATION    as the action's input (default ${DEFAULT_PROBE_TIMEOUT_MS / 1000}s)
  --on-unknown fail|warn      --on-unreachable inject|skip|fail      --on-verification-off fail|warn
  --tools LIST                --strategy env|native|both
  --cache-ttl DURATION        how long a probe verdict is reused by later jobs (default 5m; e.g. 90s, 10m, 0 = never)
  --job-paths host|container  host (default): jobs run on the machine; container: jobs run in container:, where
                              the runner mounts _work/_temp at /__w/_temp, so the variables name /__w/_temp paths

The hooks run the runner's own Node 24 (DIR/externals/node24/bin/node) when it has one, else the Node running
this install. As root, org-ca never writes into the runner directory itself: .env is read and replaced by a child
process running as the directory's owner.

Exit status: 0 installed or uninstalled; 1 a file could not be written or a place is not safe (nothing half-done is
left); 2 usage or input error (a bad option, a directory that holds no runner, a CA file that is no CA).`;

const INSTALL_OPTIONS = {
  'runner-dir': { type: 'string' },
  'hooks-dir': { type: 'string' },
  ca: { type: 'string' },
  'ca-file': { type: 'string' },
  fingerprint: { type: 'string' },
  when: { type: 'string' },
  'probe-urls': { type: 'string' },
  'probe-timeout': { type: 'string' },
  'on-unknown': { type: 'string' },
  'on-unreachable': { type: 'string' },
  'on-verification-off': { type: 'string' },
  tools: { type: 'string' },
  strategy: { type: 'string' },
  'cache-ttl': { type: 'string' },
  'job-paths': { type: 'string' },
  config: { type: 'string' },
} as const;

/** 0, or a duration in s/m/ms up to a day. */
export function parseTtl(value: string | undefined): number {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return DEFAULT_CACHE_TTL_MS;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v);
  const ms = m ? Math.round(Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1000)) : NaN;
  if (!(ms >= 0 && ms <= 86_400_000))
    throw new OptionError(`Invalid --cache-ttl '${value}'. Expected 0 or a duration up to 24h (e.g., 90s, 10m).`);
  return ms;
}

/**
 * The hooks' output goes to the job log, where the runner executes `::command::` lines: org-ca's own command prefix
 * is kept, and everything after it (a proxy's answer, a cached verdict's text) goes through the log-line sink.
 */
function print(lines: readonly string[]): void {
  for (const line of lines) {
    const command = /^(::(?:warning|error|notice)::)(.*)$/s.exec(line);
    process.stdout.write(`${command ? `${command[1]}${logLine(command[2]!)}` : logLine(line)}\n`);
  }
}

export const runnerCommand: Command = {
  name: 'runner',
  summary: 'install job hooks on a self-hosted Actions runner, so every job trusts the org CA',
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values } = parseCommandArgs('runner', rest, INSTALL_OPTIONS);
    switch (sub) {
      case 'install': {
        if (!values['runner-dir'])
          throw new UsageError("runner install: --runner-dir DIR is required (see 'org-ca runner --help')");
        if (values.ca && values['ca-file'])
          throw new UsageError(
            'runner install: give the CA once: --ca FILE (or --ca - for standard input); --ca-file is its older spelling',
          );
        const caValue = values.ca ?? values['ca-file'];
        if (!caValue)
          throw new UsageError(
            "runner install: --ca FILE is required (or --ca - to read it from standard input; see 'org-ca runner --help')",
          );
        let settings;
        try {
          const tools = parseToolList(values.tools ?? '');
          settings = {
            when: oneOf('--when', values.when ?? '', WHEN_VALUES, 'auto'),
            probeUrls: parseProbeUrls(values['probe-urls'] ?? ''),
            probeTimeoutMs: parseDuration('--probe-timeout', values['probe-timeout'] ?? '', DEFAULT_PROBE_TIMEOUT_MS),
            onUnknown: oneOf('--on-unknown', values['on-unknown'] ?? '', ON_UNKNOWN_VALUES, 'fail'),
            onUnreachable: oneOf('--on-unreachable', values['on-unreachable'] ?? '', ON_UNREACHABLE_VALUES, 'inject'),
            onVerificationOff: oneOf(
              '--on-verification-off',
              values['on-verification-off'] ?? '',
              ON_VERIFICATION_OFF_VALUES,
              'fail',
            ),
            ...present({ tools }),
            strategy: oneOf('--strategy', values.strategy ?? '', STRATEGIES, 'env'),
            cacheTtlMs: parseTtl(values['cache-ttl']),
            jobPaths: oneOf('--job-paths', values['job-paths'] ?? '', JOB_PATHS, 'host'),
          };
        } catch (error) {
          throw new UsageError(`runner install: ${error instanceof Error ? error.message : String(error)}`);
        }
        const ca = loadCaArgument(caValue, new Date(), values.fingerprint);
        for (const warning of ca.warnings) process.stderr.write(`org-ca runner: ${warning}\n`);
        // The runner directory and where the hooks go are paths from the user: checked without ever hanging first.
        await ensureDirectory(values['runner-dir'], { purpose: '--runner-dir' });
        if (values['hooks-dir'])
          await ensureDirectory(dirname(resolve(values['hooks-dir'])), { purpose: '--hooks-dir' });
        const done = install({
          runnerDir: values['runner-dir'],
          ...present({ hooksDir: values['hooks-dir'] }),
          caPem: certificatesPem(ca.certs),
          settings,
          node: hookNode(resolve(values['runner-dir']), process.execPath),
          cli: realpathSync(process.argv[1]!),
        });
        print([
          `Installed the org-ca job hooks in ${done.hooksDir} for the CA ${ca.primary.subject}.`,
          `${done.envPath} now sets ACTIONS_RUNNER_HOOK_JOB_STARTED=${done.started} and ACTIONS_RUNNER_HOOK_JOB_COMPLETED=${done.completed}.`,
          'Restart the runner service for it to read them.',
        ]);
        return EXIT.ok;
      }
      case 'uninstall':
        if (!values['runner-dir'])
          throw new UsageError("runner uninstall: --runner-dir DIR is required (see 'org-ca runner --help')");
        print(uninstall(values['runner-dir'], values['hooks-dir']));
        return EXIT.ok;
      case 'job-started': {
        // Run by the hook script: every error is reported here, and only a policy failure gets its own exit code.
        try {
          const outcome = await jobStarted(readConfig(values.config ?? ''), process.env, currentPlatform());
          print(outcome.lines);
          return EXIT.ok;
        } catch (error) {
          if (error instanceof PolicyFailure) {
            print([`::error::org-ca: ${error.message}`]);
            return POLICY_FAILURE_EXIT;
          }
          print([`::warning::org-ca: ${error instanceof Error ? error.message : String(error)}`]);
          return 1;
        }
      }
      case 'job-completed':
        try {
          print(await jobCompleted(process.env));
        } catch (error) {
          print([
            `::warning::org-ca: could not remove the job's CA files: ${error instanceof Error ? error.message : String(error)}`,
          ]);
        }
        return EXIT.ok;
      default:
        throw new UsageError(
          `runner: unknown sub-command '${sub ?? ''}'. Expected install or uninstall (see 'org-ca runner --help').`,
        );
    }
  },
};
