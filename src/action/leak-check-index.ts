import { runOnSupportedNode } from '../runtime/node-version.js';
import { run } from './leak-check.js';

// The runner starts `using: node24` actions with its own Node 24; anything else running this bundle is refused.
await runOnSupportedNode(run);
