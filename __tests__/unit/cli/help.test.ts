/** Every command's --help says what its exit statuses mean (a newcomer's script branches on them). */
import { COMMANDS } from '../../../src/cli/command-list.js';

test.each(COMMANDS.map((c) => [c.name, c] as const))(
  'org-ca %s --help has an exit-status section',
  (_name, command) => {
    expect(command.help).toMatch(/\nExit status: /);
    expect(command.help).toMatch(/2 usage/);
  },
);
