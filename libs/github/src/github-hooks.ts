import { toHookDeliveries } from './github-mappers';
import { checkedHookPath, requirePositiveInteger } from './github-paths';
import { GithubRequests, PAGE_SIZE, readJson } from './github-requests';
import type { AuthKind } from './github-transport';
import { DeliveryHook, HookDeliveryPage, nextCursorFromLink } from './hook-deliveries';

/** A webhook's delivery log: reading it page by page, and asking for a redelivery. */

/** The App's hook is read with the App JWT; a repository or organisation hook with the token. */
function hookAuth(hook: DeliveryHook): AuthKind {
  return hook.kind === 'app' ? 'app' : 'default';
}

/** One page of deliveries, newest first; the next page's cursor from the `link` header. */
export async function listHookDeliveries(
  api: GithubRequests,
  hook: DeliveryHook,
  cursor: string | null,
): Promise<HookDeliveryPage> {
  const path = `${checkedHookPath(hook)}/deliveries`;
  return api.call(
    {
      operation: 'list_hook_deliveries',
      path,
      auth: hookAuth(hook),
      query: { per_page: String(PAGE_SIZE), ...(cursor !== null ? { cursor } : {}) },
    },
    (answer, label) => ({
      deliveries: readJson(answer, label, toHookDeliveries),
      nextCursor: nextCursorFromLink(answer.response.headers.get('link')),
    }),
  );
}

/** `POST .../deliveries/{id}/attempts`; not retried in-call: the request may have been taken. */
export async function redeliverHookDelivery(
  api: GithubRequests,
  hook: DeliveryHook,
  deliveryId: number,
): Promise<void> {
  requirePositiveInteger('delivery id', deliveryId);
  await api.call(
    {
      operation: 'redeliver_hook_delivery',
      method: 'POST',
      path: `${checkedHookPath(hook)}/deliveries/${deliveryId}/attempts`,
      auth: hookAuth(hook),
      idempotent: false,
    },
    () => undefined,
  );
}
