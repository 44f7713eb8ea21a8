/** "Did you mean": typos of a known word are found, unrelated words are not. */
import { closest, didYouMean, editDistance } from '../../../src/options/suggest.js';

const COMMANDS = ['env', 'exec', 'detect', 'doctor', 'leak-check', 'lint', 'store', 'runner'];

describe('editDistance', () => {
  test.each([
    ['env', 'env', 0],
    ['evn', 'env', 1], // a swapped pair is one edit
    ['envv', 'env', 1],
    ['detcet', 'detect', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%s → %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });
});

describe('closest / didYouMean', () => {
  test.each([
    ['evn', 'env'],
    ['leakcheck', 'leak-check'],
    ['docter', 'doctor'],
    ['runer', 'runner'],
    ['--fingerprnt', '--fingerprint'],
  ])('%s suggests %s', (typo, expected) => {
    expect(closest(typo, [...COMMANDS, '--fingerprint', '--format'])).toBe(expected);
  });

  test.each(['kubernetes', 'x', 'deploy'])('%s suggests nothing', (word) => {
    expect(closest(word, COMMANDS)).toBeUndefined();
    expect(didYouMean(word, COMMANDS)).toBe('');
  });

  test('the sentence quotes the suggestion', () => {
    expect(didYouMean('evn', COMMANDS)).toBe(" Did you mean 'env'?");
  });
});
