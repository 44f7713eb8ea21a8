// A loopback docker-registry over TLS for the benchmarks (bench-leak's registry case, bench-fleet): a root of its own
// and a leaf for `host`, as a registry on the internet has. The caller stops it by killing the process group of `pid`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sh = (cmd) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();

/** Starts it under `work`; resolves when /v2/ answers. `ca` is the root's PEM, `certsDir` what skopeo's --dest-cert-dir takes. */
export function startBenchRegistry(
  work,
  { host = '127.0.0.1', port = 20000 + Math.floor(Math.random() * 10000) } = {},
) {
  sh(
    `openssl req -x509 -newkey rsa:2048 -nodes -keyout ${work}/reg-ca.key -subj "/CN=Bench Registry Root" -days 2 -addext basicConstraints=critical,CA:TRUE -out ${work}/reg-ca.pem 2>/dev/null`,
  );
  sh(
    `openssl req -newkey rsa:2048 -nodes -keyout ${work}/reg.key -subj "/CN=${host}" -out ${work}/reg.csr 2>/dev/null`,
  );
  const san = /^[\d.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
  writeFileSync(join(work, 'ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  sh(
    `openssl x509 -req -in ${work}/reg.csr -CA ${work}/reg-ca.pem -CAkey ${work}/reg-ca.key -CAcreateserial -days 2 -extfile ${work}/ext -out ${work}/reg.pem 2>/dev/null`,
  );
  const certsDir = join(work, 'certs');
  mkdirSync(certsDir);
  sh(`cp ${work}/reg-ca.pem ${certsDir}/ca.crt`);
  writeFileSync(
    join(work, 'registry.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${work}/storage`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  tls:',
      `    certificate: ${work}/reg.pem`,
      `    key: ${work}/reg.key`,
    ].join('\n') + '\n',
  );
  const registry = spawn('timeout', ['900', 'docker-registry', 'serve', join(work, 'registry.yml')], {
    stdio: 'ignore',
    detached: true,
  });
  const ca = join(work, 'reg-ca.pem');
  const up = () => spawnSync('curl', ['-s', '--cacert', ca, `https://${host}:${port}/v2/`]).status === 0;
  for (let i = 0; i < 150 && !up(); i++) sh('sleep 0.1');
  if (!up()) throw new Error(`docker-registry did not answer on ${host}:${port}`);
  return { pid: registry.pid, host: `${host}:${port}`, port, ca, certsDir };
}
