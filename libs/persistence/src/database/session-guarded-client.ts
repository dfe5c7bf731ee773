import { Client } from 'pg';

/**
 * pg's Client with an `error` listener from its first moment, for every pool of the apps
 * (`extra.Client` in buildDataSourceOptions; the intake's own pool copies those options).
 *
 * pg-pool listens for a connection's errors only while it sits idle in the pool. A connection
 * checked out without a statement running (an exclusive job's lock session while its job works, a
 * query runner between two statements) has no listener, so when PostgreSQL ends its session
 * (pg_terminate_backend, a restart, a failover) the `error` event went unhandled and took the
 * whole process down: a worker died on a PostgreSQL restart and its tasks waited for a supervisor
 * that the fault run does not have. With the listener, the connection is marked unusable, the
 * statement running on it (or the next one) rejects with the error, and the pool closes it when it
 * is released instead of handing it out again.
 */
export class SessionGuardedClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    this.on('error', ignoreHere);
  }
}

/** The error reaches its caller through the rejected statement; the event itself needs no action. */
function ignoreHere(): void {}
