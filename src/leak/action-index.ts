import { run } from './action.js';
import { isLeakWorker, serveWorker } from './pool.js';

// This bundle is also the layer-scanning worker (see pool.ts): as a worker it serves layers and nothing else.
if (isLeakWorker()) serveWorker();
else await run();
