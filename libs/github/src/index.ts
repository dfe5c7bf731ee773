export * from './github-client';
export * from './github.module';
export * from './github.types';
export * from './signature';
