export * from './codegen-fake';
export * from './github-fake';
export * from './github-app-fake';
