import { CaInputError } from '../../../src/ca/parse.js';
import { CommandNotRunError, describeError, EXIT, exitCodeFor, UsageError } from '../../../src/cli/command-kit.js';
import { OptionError } from '../../../src/options/parse.js';
import { PathError } from '../../../src/fs/ensure-directory.js';
import { VerificationOffError } from '../../../src/tools/inject.js';

function systemError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: raw node text, ${syscall} '${path ?? ''}'`);
  error.code = code;
  error.syscall = syscall;
  if (path) error.path = path;
  return error;
}

test.each<[NodeJS.ErrnoException, string]>([
  [systemError('EACCES', 'mkdir', '/root/x'), "cannot mkdir '/root/x': permission denied (EACCES)."],
  [
    systemError('ENOTDIR', 'open', '/dev/null/x'),
    "cannot open '/dev/null/x': a part of the path is not a directory (ENOTDIR).",
  ],
  [systemError('EACCES', 'spawn /etc/passwd'), 'cannot run: permission denied (EACCES).'],
  [systemError('EWHATEVER', 'read'), 'cannot read: system error EWHATEVER (EWHATEVER).'],
])('Node system errors become a sentence: %s', (error, sentence) => {
  expect(describeError(error)).toBe(sentence);
});

test('other errors keep their own first line', () => {
  expect(describeError(new Error('Invalid --format x.\n  at stack'))).toBe('Invalid --format x.');
  expect(describeError('a string')).toBe('a string');
});

test.each<[unknown, number]>([
  [new UsageError('u'), EXIT.usage],
  [new OptionError('o'), EXIT.usage],
  [new CaInputError('c'), EXIT.usage],
  [new PathError('--dir x is under /proc'), EXIT.usage],
  [new CommandNotRunError('n', EXIT.notFound), 127],
  [new CommandNotRunError('n', EXIT.cannotRun), 126],
  [new VerificationOffError([{ setting: 'NODE_TLS_REJECT_UNAUTHORIZED=0', where: 'environment' }]), EXIT.failed],
  [new Error('anything else'), EXIT.failed],
  ['not even an Error', EXIT.failed],
])('exit code of %s', (error, code) => {
  expect(exitCodeFor(error)).toBe(code);
});
