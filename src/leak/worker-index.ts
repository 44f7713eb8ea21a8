import { isLeakWorker, serveWorker } from './scanning/pool.js';
import { openBlob } from './sources/blob.js';

// The layer-scanning worker (see scanning/pool.ts): a bundle of the scanner and the blob opener only, since every
// worker loads it. The scanner is handed the sources' opener here, so that it never knows where bytes come from.
if (isLeakWorker()) serveWorker(openBlob);
