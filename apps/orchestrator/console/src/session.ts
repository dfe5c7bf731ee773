/** The caller's token as `GET /api/v1/auth/whoami` describes it. */
export interface TokenInfo {
  subject: string;
  role: 'viewer' | 'operator';
  /** What `POST /api/v1/admin/tokens/revoke` takes to end this token everywhere. */
  token_id: string;
  expires_at: string;
}

const TOKEN_KEY = 'orchestrator-console.token';
const INFO_KEY = 'orchestrator-console.who';

/**
 * The signed-in token lives in sessionStorage only: gone when the tab closes, never in
 * localStorage or a cookie, never sent anywhere but this origin's API.
 */
export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  info(): TokenInfo | null {
    const text = sessionStorage.getItem(INFO_KEY);
    if (!text) return null;
    try {
      return JSON.parse(text) as TokenInfo;
    } catch {
      return null;
    }
  },
  start(token: string, info: TokenInfo): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(INFO_KEY, JSON.stringify(info));
  },
  end(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(INFO_KEY);
  },
  isOperator(): boolean {
    return this.info()?.role === 'operator';
  },
};
