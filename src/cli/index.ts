import { nodeVersionProblem } from '../runtime/node-version.js';
import { main } from './main.js';

// Checked before anything else runs: the modules load on an older Node, but the OS store reads as empty there.
const tooOld = nodeVersionProblem(process.version);
if (tooOld) {
  process.stderr.write(`org-ca: ${tooOld}\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await main(process.argv.slice(2));
}
