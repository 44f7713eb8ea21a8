/**
 * Every tag of a repository, from the distribution API's tag list on a real local HTTPS server: pages followed by
 * their Link header (path and query only, never another host), referrer tags left out, and a list that will not end,
 * or that holds what is not a tag, refused in one line.
 */
import { mintLeaf, mintRoot } from '../../../../support/pki.js';
import { useRecordingHttpsServer } from '../../../../support/https-server.js';
import { listRepositoryTags } from '../../../../../src/leak/sources/registry/index.js';

const root = mintRoot({ cn: 'Tags Test Root' });
const leaf = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
const srv = useRecordingHttpsServer(leaf);

const list = (): Promise<string[]> =>
  listRepositoryTags(`registry:127.0.0.1:${srv.port}/org/app`, [root.certPem], {
    env: {},
    dockerConfig: '/nonexistent/config.json',
    backoffMs: 10,
    timeoutMs: 5000,
  });

test('pages are followed by their Link header; referrer tags are left out', async () => {
  const seen: string[] = [];
  srv.handler = (req, res) => {
    seen.push(req.url!);
    const last = new URL(req.url!, 'https://x').searchParams.get('last');
    const page =
      last === null
        ? ['1.0', 'sha256-' + 'a'.repeat(64)]
        : last === 'sha256-' + 'a'.repeat(64)
          ? ['1.1', 'sha256-' + 'a'.repeat(64) + '.sig']
          : ['2.0'];
    const next =
      last === null
        ? `</v2/org/app/tags/list?n=1000&last=sha256-${'a'.repeat(64)}>; rel="next"`
        : last === 'sha256-' + 'a'.repeat(64)
          ? // A Link naming another host: only its path and query are followed, on this registry.
            `<https://elsewhere.example/v2/org/app/tags/list?n=1000&last=x>; rel="next"`
          : undefined;
    res.writeHead(200, { 'content-type': 'application/json', ...(next ? { link: next } : {}) });
    res.end(JSON.stringify({ name: 'org/app', tags: page }));
  };
  expect(await list()).toEqual(['1.0', '1.1', '2.0']);
  expect(seen).toEqual([
    '/v2/org/app/tags/list?n=1000',
    `/v2/org/app/tags/list?n=1000&last=sha256-${'a'.repeat(64)}`,
    '/v2/org/app/tags/list?n=1000&last=x',
  ]);
});

test('a list that never ends fails closed', async () => {
  srv.handler = (req, res) => {
    res.writeHead(200, { link: '</v2/org/app/tags/list?n=1&last=again>; rel="next"' });
    res.end(JSON.stringify({ tags: ['x'] }));
  };
  await expect(list()).rejects.toThrow(/tag list goes on past 100 pages/);
});

test.each([
  ['a tag that is not a tag', { tags: ['ok', '../../etc'] }, /holds something that is not a tag/],
  ['not a list', { tags: 'latest' }, /holds something that is not a tag/],
])('%s is refused in one line', async (_, body, message) => {
  srv.handler = (req, res) => {
    res.writeHead(200);
    res.end(JSON.stringify(body));
  };
  await expect(list()).rejects.toThrow(message);
});

test('a 404 names the repository and the status', async () => {
  srv.handler = (req, res) => {
    res.writeHead(404);
    res.end();
  };
  await expect(list()).rejects.toThrow(`tag list of 127.0.0.1:${srv.port}/org/app: the registry answered 404`);
});
