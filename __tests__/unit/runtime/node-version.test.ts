/** The Node version gate: 24 and later pass, anything older (or unparsable) is refused in one line that says where to get 24. */
import { nodeVersionProblem } from '../../../src/runtime/node-version.js';

describe('nodeVersionProblem', () => {
  test.each(['v24.0.0', 'v24.21.0', 'v25.1.0', 'v30.0.0'])('%s is accepted', (version) => {
    expect(nodeVersionProblem(version)).toBeUndefined();
  });

  test.each(['v20.19.2', 'v22.15.0', 'v23.10.0', 'v18.0.0', 'garbage', ''])(
    '%s is refused, naming the version and where to get 24',
    (version) => {
      const problem = nodeVersionProblem(version);
      expect(problem).toContain(`this is ${version}`);
      expect(problem).toMatch(/^org-ca needs Node 24 or later/);
      expect(problem).toMatch(/externals\/node24\/bin\/node/);
      expect(problem).not.toContain('\n');
    },
  );
});
