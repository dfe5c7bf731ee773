/**
 * Which webhook's delivery log to read: the GitHub App's own hook (App JWT), or a repository or
 * organisation hook (the client's token).
 */
export type DeliveryHook =
  | { kind: 'app' }
  | { kind: 'repository'; repository: string; hookId: number }
  | { kind: 'organization'; organization: string; hookId: number };

/** One delivery attempt as GitHub lists it; a redelivery is its own entry with the same guid. */
export interface HookDelivery {
  /** Id of this attempt (what `.../deliveries/{id}/attempts` takes). */
  id: number;
  /** The X-GitHub-Delivery of the event, shared by every attempt. */
  guid: string;
  deliveredAtMs: number;
  redelivery: boolean;
  /** HTTP status our endpoint answered; 0 when it never answered. */
  statusCode: number;
  /** GitHub's description of the outcome ("OK", "Invalid HTTP Response: 503", ...). */
  status: string;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
}

/** One page of a hook's delivery log, newest first. */
export interface HookDeliveryPage {
  deliveries: HookDelivery[];
  /** Pass to the next call to read older entries; null on the last page. */
  nextCursor: string | null;
}

const OWNER = '[A-Za-z0-9_.-]{1,100}';
const HOOK_PATTERNS: Array<[RegExp, (m: RegExpExecArray) => DeliveryHook]> = [
  [/^app$/, () => ({ kind: 'app' })],
  [
    new RegExp(`^repos/(${OWNER})/(${OWNER})/hooks/(\\d{1,18})$`),
    (m) => ({ kind: 'repository', repository: `${m[1]}/${m[2]}`, hookId: Number(m[3]) }),
  ],
  [
    new RegExp(`^orgs/(${OWNER})/hooks/(\\d{1,18})$`),
    (m) => ({ kind: 'organization', organization: m[1], hookId: Number(m[2]) }),
  ],
];

/**
 * Reads `app`, `repos/OWNER/REPO/hooks/ID` or `orgs/ORG/hooks/ID` (a leading or trailing slash is
 * ignored). Returns null for anything else, so no input can change the request path.
 */
export function parseDeliveryHook(text: string): DeliveryHook | null {
  const trimmed = text.trim().replace(/^\/+|\/+$/g, '');
  for (const [pattern, build] of HOOK_PATTERNS) {
    const match = pattern.exec(trimmed);
    if (!match) continue;
    const hook = build(match);
    const names =
      hook.kind === 'repository'
        ? hook.repository.split('/')
        : hook.kind === 'organization'
          ? [hook.organization]
          : [];
    if (names.some((n) => n === '.' || n === '..')) return null;
    if (hook.kind !== 'app' && (!Number.isSafeInteger(hook.hookId) || hook.hookId < 1)) return null;
    return hook;
  }
  return null;
}

/** The API path of a hook, e.g. `/repos/o/r/hooks/1`; `/app/hook` for the App's. */
export function deliveryHookPath(hook: DeliveryHook): string {
  switch (hook.kind) {
    case 'app':
      return '/app/hook';
    case 'repository':
      return `/repos/${hook.repository}/hooks/${hook.hookId}`;
    case 'organization':
      return `/orgs/${hook.organization}/hooks/${hook.hookId}`;
  }
}

/** A stable text form of a hook (`app`, `repos/o/r/hooks/1`), e.g. as a key for a cursor. */
export function deliveryHookKey(hook: DeliveryHook): string {
  return deliveryHookPath(hook)
    .replace(/^\//, '')
    .replace(/^app\/hook$/, 'app');
}

/**
 * The `cursor` of the `rel="next"` link of a `Link` header, or null. Only the cursor is taken:
 * the next request is built from our own API root, never from a URL in an answer.
 */
export function nextCursorFromLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (!match || !/\brel="?next"?/.test(match[2])) continue;
    let url: URL;
    try {
      url = new URL(match[1], 'https://api.github.invalid');
    } catch {
      return null;
    }
    const cursor = url.searchParams.get('cursor');
    return cursor && /^[A-Za-z0-9_=+/.:-]{1,200}$/.test(cursor) ? cursor : null;
  }
  return null;
}
