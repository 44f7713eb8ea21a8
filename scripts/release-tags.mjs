// The git tags a release of VERSION gets: the exact tag `vX.Y.Z`, and for a final release the moving major tag `vX`
// that `uses: org-ca/org-ca@vX` follows (as actions/checkout@v5 does). A pre-release (1.2.0-rc.1) moves nothing.
//   node scripts/release-tags.mjs            the tags for package.json's version, one per line
//   node scripts/release-tags.mjs --check vX.Y.Z   exit 1 unless the pushed tag is package.json's version
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$/;

export function releaseTags(version) {
  const m = SEMVER.exec(version);
  if (!m) throw new Error(`version '${version}' is not semantic (expected X.Y.Z or X.Y.Z-PRERELEASE)`);
  return m[4] === undefined ? [`v${version}`, `v${m[1]}`] : [`v${version}`];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const check = process.argv.indexOf('--check');
  if (check !== -1) {
    const pushed = process.argv[check + 1] ?? '';
    if (pushed !== `v${version}`) {
      console.error(
        `release: the tag '${pushed}' is not package.json's version v${version}: bump package.json (and src/runtime/version.ts) first.`,
      );
      process.exit(1);
    }
  }
  console.log(releaseTags(version).join('\n'));
}
