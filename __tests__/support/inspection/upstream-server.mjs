// The lab's HTTPS upstream, run as its own process so a busy test process cannot stall it.
// Usage: node upstream-server.mjs <port> <cert> <key> <git-root>
//   GET /            → 200 "upstream-ok"
//   GET [/t/<tag>]/<repo>.git/… → files of a bare repository under <git-root> (git's dumb HTTP protocol)
//   anything else    → 404 (an npm registry URL on it answers 404: success as far as TLS goes)
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import { join, normalize, sep } from 'node:path';

const [port, cert, key, gitRoot] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const url = new URL(req.url ?? '/', 'https://upstream');
  console.log(`${req.method} ${url.pathname}${url.search} from ${req.socket.remoteAddress}`);
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream-ok\n');
    return;
  }
  // /t/<tag>/repo.git/… is repo.git too: the tag makes each clone's requests findable in a proxy's log.
  const repoPath = url.pathname.replace(/^\/t\/[\w-]+\//, '/');
  if (/^\/[\w.-]+\.git\//.test(repoPath) && (req.method === 'GET' || req.method === 'HEAD')) {
    // Dumb HTTP: the query (?service=git-upload-pack) is ignored, and git falls back when the answer is plain info/refs.
    const file = normalize(join(gitRoot, decodeURIComponent(repoPath)));
    if (file.startsWith(gitRoot + sep)) {
      try {
        if (statSync(file).isFile()) {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          createReadStream(file).pipe(res);
          return;
        }
      } catch {
        // fall through to 404
      }
    }
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
