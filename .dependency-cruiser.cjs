/**
 * The direction of the house, checked in .ci/run (`npm run lint:deps`): each folder of src/ may import only folders
 * on a lower level, and folders on one level never import each other. docs/design.md draws the same levels.
 * A wrong-way import fails with the rule's name and the two files.
 */
const LEVELS = [
  ['cli', 'action'], // the two shells: the CLI and the Actions runner's entry points
  ['runner'], // runner hooks: the action's decision, run by the runner itself
  ['leak', 'lint'], // the image leak check and the Dockerfile lint
  ['registry-trust', 'store', 'native', 'in-build', 'decision'], // what a run changes, and the decision to
  ['env-formats'], // variables as shells and CI systems read them
  ['detect'], // probes and verdicts
  ['ca-pointers'], // settings that point a tool at a CA file, and the fix for CA material in images
  ['tools'], // the tool registry and the injection plan
  ['options'], // option parsing shared by inputs and flags
  ['ca', 'fs', 'output', 'runtime'], // certificates, guarded files, printing sinks, the Node gate
  ['lang'], // what TypeScript lacks: building objects with optional fields
];

const folder = (name) => `^src/${name}/`;
const KNOWN = `^src/(${LEVELS.flat().join('|')})/`;
const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'an import circle: split the shared part into a module both import',
    from: { path: '^src/' },
    to: { circular: true },
  },
  // A folder of src/ with no level, importing or imported: every module of src/ takes part in one of the two.
  {
    name: 'no-unknown-folder',
    severity: 'error',
    comment: 'a folder of src/ that has no level: add it to LEVELS in .dependency-cruiser.cjs',
    from: { path: '^src/', pathNot: KNOWN },
    to: {},
  },
  {
    name: 'no-unknown-folder',
    severity: 'error',
    comment: 'a folder of src/ that has no level: add it to LEVELS in .dependency-cruiser.cjs',
    from: {},
    to: { path: '^src/', pathNot: KNOWN },
  },
];
LEVELS.forEach((level, i) => {
  const higher = LEVELS.slice(0, i).flat();
  for (const name of level) {
    if (higher.length) {
      forbidden.push({
        name: `level-${name}`,
        severity: 'error',
        comment: `src/${name}/ may import only lower levels, not ${higher.join(', ')} (see .dependency-cruiser.cjs)`,
        from: { path: folder(name) },
        to: { path: `^src/(${higher.join('|')})/` },
      });
    }
    const peers = level.filter((other) => other !== name);
    if (peers.length) {
      forbidden.push({
        name: `peers-${name}`,
        severity: 'error',
        comment: `src/${name}/ and ${peers.join(', ')} are on one level and never import each other`,
        from: { path: folder(name) },
        to: { path: `^src/(${peers.join('|')})/` },
      });
    }
  }
});

// The leak check's three rooms: image sources (one module per transport, each yielding the same image of descriptors
// and blob references), scanning (knows nothing of where bytes come from) and reporting (knows nothing of how bytes
// were scanned). Each may use the files at leak/'s top (types, tar and magic-byte readers); check.ts and the worker
// entry compose them, and fanout/ (a run split over CI jobs, and the merge of its shards) composes check.ts.
const ROOMS = ['sources', 'scanning', 'reporting'];
for (const room of ROOMS) {
  const others = ROOMS.filter((r) => r !== room);
  forbidden.push({
    name: `leak-${room}`,
    severity: 'error',
    comment: `src/leak/${room}/ may not import ${others.join(' or ')}, nor the composers (check.ts, worker-index.ts, fanout/)`,
    from: { path: `^src/leak/${room}/` },
    to: { path: `^src/leak/((${[...others, 'fanout'].join('|')})/|check\\.ts$|worker-index\\.ts$)` },
  });
}

module.exports = {
  forbidden,
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|__tests__)/' },
  },
};
