/** The command lines that name a CA file, each tool alone: a flag proves a file for one run, a setting keeps it. */
import { namedCaFiles } from '../../../src/lint/tool-ca-settings.js';

const line = (text: string): [string, string[]] => {
  const [cmd, ...args] = text.split(' ');
  return [cmd!, args];
};

test.each([
  ['npm ci --cafile /tmp/ca.pem', [{ value: '/tmp/ca.pem', how: 'flag', label: 'passes /tmp/ca.pem to npm --cafile' }]],
  ['yarn install --cafile=/ca.pem', [{ value: '/ca.pem', how: 'flag', label: 'passes /ca.pem to yarn --cafile' }]],
  ['npm config set cafile /ca.pem', [{ value: '/ca.pem', how: 'setting', label: 'npm config cafile' }]],
  ['pnpm config set ca-file-path=/ca.pem', [{ value: '/ca.pem', how: 'setting', label: 'pnpm config ca-file-path' }]],
  ['npm config set registry https://r', []],
  ['pip install --cert /ca.pem x', [{ value: '/ca.pem', how: 'flag', label: 'passes /ca.pem to pip --cert' }]],
  [
    'python3 -m pip config set global.cert /ca.pem',
    [{ value: '/ca.pem', how: 'setting', label: 'pip config global.cert' }],
  ],
  ['pip3.12 install x', []],
  [
    'git -c http.sslCAInfo=/ca.pem clone x',
    [{ value: '/ca.pem', how: 'flag', label: 'passes it to git -c http.sslCAInfo' }],
  ],
  [
    'git config --global http.sslCAInfo /ca.pem',
    [{ value: '/ca.pem', how: 'setting', label: 'git config http.sslCAInfo' }],
  ],
  [
    'poetry config certificates.corp.cert /ca.pem',
    [{ value: '/ca.pem', how: 'setting', label: 'poetry config certificates.corp.cert' }],
  ],
  ['conda config --set ssl_verify /ca.pem', [{ value: '/ca.pem', how: 'setting', label: 'conda ssl_verify' }]],
  ['conda config --set ssl_verify false', []],
  [
    'bundle config set --global ssl_ca_cert /ca.pem',
    [{ value: '/ca.pem', how: 'setting', label: 'bundle config ssl_ca_cert' }],
  ],
  ['bundle config ssl_ca_cert /ca.pem', [{ value: '/ca.pem', how: 'setting', label: 'bundle config ssl_ca_cert' }]],
  ['curl --cacert /ca.pem https://x', []],
])('%s', (text, expected) => {
  expect(namedCaFiles(...line(text))).toEqual(expected);
});
