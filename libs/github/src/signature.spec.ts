import { createHmac } from 'node:crypto';
import { signGithubPayload, verifyGithubSignature } from './signature';

describe('verifyGithubSignature', () => {
  const body = Buffer.from('Hello, World!');
  const secret = "It's a Secret to Everybody";
  const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it("accepts GitHub's documented test vector", () => {
    expect(signGithubPayload(body, secret)).toBe(documented);
    expect(verifyGithubSignature(body, documented, [secret])).toEqual({ ok: true });
  });

  it('accepts upper-case hex and a delivery signed with any secret of a rotation', () => {
    expect(
      verifyGithubSignature(body, documented.toUpperCase().replace('SHA256', 'sha256'), [secret])
        .ok,
    ).toBe(true);
    expect(verifyGithubSignature(body, documented, ['new-secret', secret]).ok).toBe(true);
  });

  it('refuses a body changed by one byte', () => {
    expect(verifyGithubSignature(Buffer.from('Hello, World?'), documented, [secret])).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a signature made with another secret', () => {
    const forged = signGithubPayload(body, 'guess');
    expect(verifyGithubSignature(body, forged, [secret]).ok).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['missing', ''],
    ['malformed', 'sha1=757107ea0eb2509fc211221cce984b8a37570b6d'],
    ['malformed', 'sha256='],
    ['malformed', 'sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'],
    ['malformed', `${documented}00`],
    ['malformed', documented.slice(0, -2)],
    ['malformed', 'sha256=' + 'é'.repeat(64)],
    ['malformed', [documented, documented]],
  ])('refuses a %s header (%p) without throwing', (reason, header) => {
    expect(verifyGithubSignature(body, header, [secret])).toEqual({
      ok: false,
      reason,
    });
  });

  it('never treats an empty secret as "verification off"', () => {
    const signedWithEmpty = `sha256=${createHmac('sha256', '').update(body).digest('hex')}`;
    expect(verifyGithubSignature(body, signedWithEmpty, ['']).ok).toBe(false);
    expect(verifyGithubSignature(body, signedWithEmpty, []).ok).toBe(false);
  });
});
