import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A repository file as SARIF wants it: relative to the checkout when it is inside it (code scanning resolves
 * relative URIs against the repository root), else an absolute file: URI.
 */
export function artifactUri(path: string, workspace?: string): string {
  if (!isAbsolute(path))
    return path
      .split(sep)
      .join('/')
      .replace(/^(\.\/)+/, '');
  if (workspace) {
    const rel = relative(workspace, path);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  return pathToFileURL(path).href;
}
