import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { ExternalServiceError, isTransientDatabaseError, isTransientError } from './domain-error';

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('isTransientError', () => {
  it("follows an outside service's own verdict", () => {
    expect(isTransientError(new ExternalServiceError('github', 'Bad Gateway', true, 502))).toBe(
      true,
    );
    expect(isTransientError(new ExternalServiceError('github', 'Not Found', false, 404))).toBe(
      false,
    );
  });

  it('counts a PostgreSQL that cannot be reached as transient, as node-postgres reports it', async () => {
    const client = new Client({ host: '127.0.0.1', port: await closedPort() });
    const error = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isTransientError(error)).toBe(true);
  });

  it('reads the SQLSTATE of the error or of the driver error TypeORM wraps', () => {
    const withCode = (code: string): Error => Object.assign(new Error('x'), { code });
    for (const code of ['08006', '57P01', '57P03', '53300', '40001', '40P01']) {
      expect(isTransientDatabaseError(withCode(code))).toBe(true);
    }
    for (const code of ['23505', '22P02', '42601', '42P01', '57014']) {
      expect(isTransientDatabaseError(withCode(code))).toBe(false);
    }
    const wrapped = Object.assign(new Error('query failed'), { driverError: withCode('57P01') });
    expect(isTransientDatabaseError(wrapped)).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(new TypeError('cannot read the diff'))).toBe(false);
    expect(isTransientDatabaseError('57P01')).toBe(false);
  });
});
