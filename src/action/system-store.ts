import type { Certificate } from '../ca/certificate.js';
import { systemHost } from '../store/privileged-commands.js';
import { defaultJournalPath } from '../store/store-journal.js';
import type { StoreSelection } from '../store/selection.js';
import { addToStores, removeFromStores, type StoreOutcome } from '../store/store.js';
import { saveStoreJournal, storeJournal } from './state.js';
import { log } from './log.js';

function logOutcome(outcome: StoreOutcome): void {
  for (const line of outcome.changed) log.info(line);
  for (const line of outcome.notices) log.notice(line);
}

/** Main step, `system-store` set: adds the CA; throws (failing the step) when a requested store cannot be changed. */
export async function addToSystemStores(selection: StoreSelection, certs: readonly Certificate[]): Promise<void> {
  if (!selection.os && !selection.browsers) return;
  const journalPath = defaultJournalPath();
  saveStoreJournal(journalPath);
  logOutcome(await addToStores({ host: systemHost(), journalPath }, certs, selection));
}

/** Post step: takes out exactly what the journal lists. Never fails the job; a failure says what is left. */
export async function revertSystemStores(): Promise<void> {
  const journalPath = storeJournal();
  if (!journalPath) return;
  try {
    logOutcome(await removeFromStores({ host: systemHost(), journalPath }));
  } catch (error) {
    log.warning(
      `The org CA could not be taken out of the trust stores: ${error instanceof Error ? error.message : String(error)} ` +
        `The journal ${journalPath} still lists it; 'org-ca store remove --journal ${journalPath}' or the next run reverts it.`,
    );
  }
}
