// A hostile registry front for fail-closed tests: forwards everything to the real registry, but every blob GET is
// tampered with. Modes: `corrupt` (same length, last byte flipped: the digest no longer matches) and `drop` (half
// the body, then the connection is destroyed). Blobs under MIN_BYTES (default 0) pass untouched, so that only layers
// (streamed by the scan's workers) are tampered with, not configs. Usage:
// node tamper-front.mjs PORT MODE CERT KEY REGISTRY_URL REGISTRY_CA [MIN_BYTES]
import { readFileSync } from 'node:fs';
import https from 'node:https';

const [port, mode, cert, key, registryUrl, registryCa, minBytes = '0'] = process.argv.slice(2);
const ca = readFileSync(registryCa);
const upstream = new URL(registryUrl);

https
  .createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    const out = https.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        ca,
      },
      (answer) => {
        if (!blob || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks = [];
        answer.on('data', (c) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.length < Number(minBytes)) {
            res.writeHead(200, answer.headers);
            res.end(body);
            return;
          }
          console.log(`${mode} ${req.url} (${body.length} bytes)`);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
          if (mode === 'corrupt') {
            body[body.length - 1] ^= 0xff;
            res.end(body);
          } else {
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            setTimeout(() => res.socket?.destroy(), 50);
          }
        });
      },
    );
    out.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(out);
  })
  .listen(Number(port), '127.0.0.1');
