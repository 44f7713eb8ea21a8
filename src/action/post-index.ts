import { nodeVersionProblem } from '../runtime/node-version.js';
import { post } from './post.js';

// The runner starts `using: node24` actions with its own Node 24; anything else running this bundle is refused.
const tooOld = nodeVersionProblem(process.version);
if (tooOld) {
  // A workflow command, so the runner shows it as the step's error (core is not loaded for one line).
  process.stdout.write(`::error::${tooOld}\n`);
  process.exitCode = 1;
} else {
  await post();
}
