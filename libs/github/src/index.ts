export * from './github-client';
export * from './github-app-auth';
export * from './hook-deliveries';
export * from './rate-limit-budget';
export * from './github.module';
export * from './github.types';
export * from './signature';
export * from './github-operations';
