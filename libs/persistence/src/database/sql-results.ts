/** Anything that runs SQL: a DataSource, or the EntityManager of an open transaction. */
export interface Queryable {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/** TypeORM's postgres driver returns `[rows, count]` for UPDATE/DELETE and plain rows otherwise. */
export function returnedRows<T = unknown>(result: unknown): T[] {
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return Array.isArray(result) ? (result as T[]) : [];
}

/** How many rows a statement with RETURNING changed. */
export function updatedCount(result: unknown): number {
  return returnedRows(result).length;
}

/** PostgreSQL refused a row a unique index already holds (a dedupe key, a delivery id). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}
