export * from './audit-types';
export * from './audit-log.entity';
export * from './audit-log.repository';
export * from './audit-trail';
export * from './security-metrics';
