export * from './codegen-client';
export * from './codegen.module';
export * from './codegen.types';
export * from './codegen-operations';
