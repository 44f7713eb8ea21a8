// A registry front that behaves like Docker Hub: it answers /v2/ itself (by forwarding to the real registry) but
// answers every blob GET with a 307 to another host (the "CDN"), which serves the blob. Both listen with the same
// "public" certificate. Usage: node redirecting-front.mjs FRONT_PORT CDN_PORT CDN_HOST CERT KEY REGISTRY_URL REGISTRY_CA
import { readFileSync } from 'node:fs';
import https from 'node:https';

const [frontPort, cdnPort, cdnHost, cert, key, registryUrl, registryCa] = process.argv.slice(2);
const tls = { cert: readFileSync(cert), key: readFileSync(key) };
const ca = readFileSync(registryCa);
const upstream = new URL(registryUrl);

function forward(req, res, label) {
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
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', (error) => {
    res.writeHead(502);
    res.end(String(error));
  });
  req.pipe(out);
  console.log(`${label} ${req.method} ${req.url}`);
}

https
  .createServer(tls, (req, res) => {
    if (req.method === 'GET' && /^\/v2\/.+\/blobs\/sha256:[0-9a-f]{64}$/.test(req.url ?? '')) {
      const target = `https://${cdnHost}:${cdnPort}${req.url}`;
      console.log(`front REDIRECT ${req.url} -> ${target}`);
      res.writeHead(307, { location: target });
      res.end();
      return;
    }
    forward(req, res, 'front');
  })
  .listen(Number(frontPort), '127.0.0.1');
https.createServer(tls, (req, res) => forward(req, res, 'cdn')).listen(Number(cdnPort), '127.0.0.1');
