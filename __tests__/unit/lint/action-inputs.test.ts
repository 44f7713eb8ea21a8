import { parseLeakInputs } from '../../../src/action/leak-check.js';

describe('leak-check sub-action: lint inputs', () => {
  const inputs = (values: Record<string, string>) => parseLeakInputs((name) => values[name] ?? '');

  test('context (default empty: the Dockerfile directory) and lint-ignore (commas or new lines)', () => {
    expect(inputs({ dockerfile: 'app/Dockerfile' })).toMatchObject({
      dockerfile: 'app/Dockerfile',
      context: '',
      lintIgnore: [],
    });
    expect(
      inputs({ dockerfile: 'Dockerfile', context: ' . ', 'lint-ignore': 'OCA109, copy-ca-file\nOCA103' }),
    ).toMatchObject({ context: '.', lintIgnore: ['OCA109', 'copy-ca-file', 'OCA103'] });
  });

  test('the pin: fingerprint, or ca-fingerprint as the main action spells it; both set must agree', () => {
    expect(inputs({ image: 'app.tar', fingerprint: 'aa, bb' }).fingerprints).toEqual(['aa', 'bb']);
    expect(inputs({ image: 'app.tar', 'ca-fingerprint': 'aa\nbb' }).fingerprints).toEqual(['aa', 'bb']);
    expect(() => inputs({ image: 'app.tar', fingerprint: 'aa', 'ca-fingerprint': 'bb' })).toThrow(
      /Inputs 'fingerprint' and 'ca-fingerprint' are two spellings of one input and disagree/,
    );
  });
});
