import type { Command } from './command-kit.js';
import { buildContextCommand } from './build-context.js';
import { caCommand } from './ca.js';
import { envCommand } from './env.js';
import { execCommand } from './exec.js';
import { detectCommand } from './detect.js';
import { doctorCommand } from './doctor.js';
import { leakCheckCommand } from './leak-check.js';
import { lintCommand } from './lint.js';
import { reportCommand } from './report.js';
import { runnerCommand } from './runner.js';
import { storeCommand } from './store.js';

/** Every `org-ca` command, in the order `org-ca --help` lists them. */
export const COMMANDS: readonly Command[] = [
  envCommand,
  execCommand,
  detectCommand,
  doctorCommand,
  leakCheckCommand,
  reportCommand,
  lintCommand,
  storeCommand,
  runnerCommand,
  buildContextCommand,
  caCommand,
];
