import { GithubFake } from '../fakes/github-fake';

/**
 * After every test: a request to the GitHub fake that GitHub's published description refuses
 * (unknown operation, bad parameter, header or body), or an answer of the fake its schema refuses,
 * fails the test that made it.
 */
afterEach(() => {
  const problems = GithubFake.takeAllViolations();
  if (problems.length > 0) {
    throw new Error(
      `GitHub's published contract was broken (GitHub's OpenAPI description):\n${problems
        .slice(0, 20)
        .join('\n')}`,
    );
  }
});
