import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSecureContext,
  createServer as createTlsServer,
  SecureContext,
  TLSSocket,
} from 'node:tls';

/** A throw-away CA and a server certificate for localhost / 127.0.0.1, made with openssl. */
export interface TestPki {
  dir: string;
  caFile: string;
  key: Buffer;
  cert: Buffer;
  context: SecureContext;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tls-e2e-'));
  const at = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void =>
    void execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=e2e test CA',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    at('server.key'),
    '-out',
    at('server.csr'),
  );
  writeFileSync(at('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('san.ext'),
    '-out',
    at('server.pem'),
  );
  const key = readFileSync(at('server.key'));
  const cert = readFileSync(at('server.pem'));
  return { dir, caFile: at('ca.pem'), key, cert, context: createSecureContext({ key, cert }) };
}

/** Counts the TLS sessions a terminator accepted, so a test can prove traffic went through it. */
export interface TlsTerminator {
  port: number;
  secureSessions: () => number;
  close(): Promise<void>;
}

function track(server: Server, sockets: Set<Socket>): () => Promise<void> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close).on('close', close);
  b.on('error', close).on('close', close);
}

/** TLS in front of the local (plain) Redis: what a `rediss://` managed Redis looks like. */
export async function startRedisTls(pki: TestPki, targetPort = 6379): Promise<TlsTerminator> {
  let sessions = 0;
  const sockets = new Set<Socket>();
  const server = createTlsServer({ key: pki.key, cert: pki.cert }, (tls) => {
    sessions++;
    pipeBoth(tls, connect(targetPort, '127.0.0.1'));
  });
  const close = track(server, sockets);
  return { port: await listen(server), secureSessions: () => sessions, close };
}

const SSL_REQUEST = 80877103;

/**
 * PostgreSQL's TLS upgrade in front of the local (plain) server: answers the client's SSLRequest
 * with 'S', terminates TLS and forwards the rest. A client that does not ask for TLS is refused,
 * as `hostssl`-only servers do.
 */
export async function startPostgresTls(pki: TestPki, targetPort = 5432): Promise<TlsTerminator> {
  let sessions = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    client.once('data', (first: Buffer) => {
      if (
        first.length !== 8 ||
        first.readInt32BE(0) !== 8 ||
        first.readInt32BE(4) !== SSL_REQUEST
      ) {
        client.destroy();
        return;
      }
      client.write('S');
      const tls = new TLSSocket(client, { isServer: true, secureContext: pki.context });
      tls.once('secure', () => {
        sessions++;
        pipeBoth(tls, connect(targetPort, '127.0.0.1'));
      });
      tls.on('error', () => client.destroy());
    });
  });
  const close = track(server, sockets);
  return { port: await listen(server), secureSessions: () => sessions, close };
}
