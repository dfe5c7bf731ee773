export * from './agent-trust';
export * from './agent-budget';
export * from './untrusted-text';
export * from './agent-outcome';
export * from './agent-outcome-facts';
