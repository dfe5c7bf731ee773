export * from './codegen-fake';
export * from './github-fake';
