import { isLeakWorker, serveWorker } from './pool.js';

// The layer-scanning worker (see pool.ts): a bundle of the scanner only, since every worker loads it.
if (isLeakWorker()) serveWorker();
