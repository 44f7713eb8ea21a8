import type { Command } from './command.js';
import { envCommand } from './env.js';
import { execCommand } from './exec.js';

/** Every `org-ca` command, in the order `org-ca --help` lists them. */
export const COMMANDS: readonly Command[] = [envCommand, execCommand];
