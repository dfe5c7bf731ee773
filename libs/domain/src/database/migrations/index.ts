import { InitialSchema1764374400000 } from './1764374400000-initial-schema';

/** Every migration, in order. An array, not a glob: bundlers and compiled output break globs. */
export const MIGRATIONS = [InitialSchema1764374400000];
