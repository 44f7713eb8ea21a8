import { loadCaArgument } from './ca-options.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { systemHost } from '../store/privileged-commands.js';
import { defaultJournalPath } from '../store/store-journal.js';
import { parseStoreSelection, StoreSelectionError, type StoreSelection } from '../store/selection.js';
import { addToStores, removeFromStores, storeStatus, type StoreOutcome } from '../store/store.js';

const HELP = `Usage: org-ca store add --ca FILE [--stores os,browsers] [--journal FILE]
       org-ca store remove [--journal FILE]
       org-ca store status [--journal FILE] [--json]

Adds the org CA to the operating system's trust store (Debian/Ubuntu update-ca-certificates, RHEL/Fedora
update-ca-trust, Alpine, SUSE, Arch) and, with --stores browsers, to the NSS databases Chromium and Firefox read
(~/.pki/nssdb, ~/.local/share/pki/nssdb, Firefox profiles; needs certutil). For the tools that read only the OS
store: the Docker daemon, browsers, anything you cannot configure.

Every change is written to a journal BEFORE it is made; 'remove' takes out exactly what the journal lists and
nothing IT installed, and the next 'add' reverts a journal left by a crash first. Needs root or passwordless sudo
for the OS store; without them nothing is changed. A CA the OS store already trusts is left alone.

Options:
  --ca FILE          the org CA: PEM, DER, base64 or .p7b; - reads standard input
  --fingerprint SHA256   fail unless the CA has this SHA-256 fingerprint
  --stores LIST      os (default), browsers, or os,browsers
  --journal FILE     where the journal lives (default: $ORG_CA_STORE_JOURNAL, else
                     /var/lib/org-ca/store-journal.json as root, else $XDG_STATE_HOME/org-ca/store-journal.json)
  --json             status as JSON
  -h, --help         this help

Exit status: 0 done (or nothing to do), 1 a store could not be changed (nothing half-done is left), 2 usage error.`;

const ACTIONS = ['add', 'remove', 'status'] as const;

function parseStores(value: string): StoreSelection {
  try {
    return parseStoreSelection('--stores', value, false);
  } catch (error) {
    throw new UsageError(`store: ${error instanceof StoreSelectionError ? error.message : String(error)}`);
  }
}

function print(outcome: StoreOutcome): void {
  for (const line of outcome.changed) process.stdout.write(`org-ca store: ${line}\n`);
  for (const line of outcome.notices) process.stderr.write(`org-ca store: ${line}\n`);
}

export const storeCommand: Command = {
  name: 'store',
  summary: 'add the org CA to the OS and browser trust stores, with a journal that guarantees the revert',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'store',
      argv,
      {
        ca: { type: 'string' },
        fingerprint: { type: 'string' },
        stores: { type: 'string' },
        journal: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    const action = positionals[0];
    if (positionals.length !== 1 || !ACTIONS.includes(action as (typeof ACTIONS)[number])) {
      throw new UsageError(
        `store: expected one of ${ACTIONS.join(', ')}${positionals.length ? `, not '${positionals.join(' ')}'` : ''} (see 'org-ca store --help')`,
      );
    }
    const context = { host: systemHost(), journalPath: values.journal ?? defaultJournalPath() };
    if (action === 'status') {
      const status = storeStatus(context);
      if (values.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else if (status.entries.length === 0)
        process.stdout.write(`No org-ca changes are recorded in ${status.journal}.\n`);
      else
        for (const e of status.entries)
          process.stdout.write(e.kind === 'os' ? `os: ${e.file} (${e.store})\n` : `nss: '${e.nickname}' in ${e.db}\n`);
      return EXIT.ok;
    }
    if (action === 'remove') {
      print(await removeFromStores(context));
      return EXIT.ok;
    }
    if (!values.ca) throw new UsageError(`store: --ca FILE is required for 'store add' (see 'org-ca store --help')`);
    const selection = parseStores(values.stores ?? 'os');
    const ca = loadCaArgument(values.ca, new Date(), values.fingerprint);
    try {
      print(await addToStores(context, ca.certs, selection));
    } catch (error) {
      process.stderr.write(`org-ca store: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};
