import { ExternalServiceError } from '@app/platform';

/**
 * The ExternalServiceError a client call rejects with; fails the test when the call resolves,
 * and rethrows any other error so the test shows what was thrown instead.
 */
export async function rejection(promise: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExternalServiceError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
