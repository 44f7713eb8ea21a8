/** Java and PKCS#12 keystores. The JKS half is in jks.ts, free of node-forge so the action's hot path stays small. */
export * from './jks.js';
export { readPkcs12 } from './pkcs12.js';
