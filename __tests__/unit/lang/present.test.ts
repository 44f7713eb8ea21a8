import { defined, present } from '../../../src/lang/present.js';

describe('present: the fields that are there', () => {
  test.each([
    ['undefined is left out', { a: undefined }, {}],
    ["'' is left out (an unset input or variable)", { a: '' }, {}],
    ['0, false and null are values', { a: 0, b: false, c: null }, { a: 0, b: false, c: null }],
    ['a string, an object and an array are kept', { a: 'x', b: { c: 1 }, d: [] }, { a: 'x', b: { c: 1 }, d: [] }],
  ])('%s', (_, fields, expected) => {
    expect(present(fields)).toStrictEqual(expected);
  });

  test('no key is written with undefined, so a spread never overrides a default', () => {
    const merged = { workspace: '/default', ...present({ workspace: process.env.ORG_CA_TEST_UNSET_VARIABLE }) };
    expect(merged).toStrictEqual({ workspace: '/default' });
    expect(Object.keys(present({ a: undefined, b: '' }))).toEqual([]);
  });
});

describe("defined: '' is a value", () => {
  test.each([
    ['undefined is left out', { a: undefined }, {}],
    ["'' is kept (an empty password, an empty link target)", { a: '' }, { a: '' }],
    ['0 is kept', { a: 0 }, { a: 0 }],
  ])('%s', (_, fields, expected) => {
    expect(defined(fields)).toStrictEqual(expected);
  });
});
