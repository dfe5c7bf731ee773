export * from './http-policy';
