export * from './database-tls';
export * from './redis-connection';
export * from './connection-summary';
