import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { showNotice } from '../notice.js';
import { BASE, currentRoute, href, navigate } from '../router.js';
import { session, type TokenInfo } from '../session.js';

export async function signInPage(main: HTMLElement, _isCurrent: () => boolean): Promise<void> {
  const field = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-help',
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in', novalidate: true },
    h('label', { for: 'token' }, 'API token'),
    field,
    h('div', { class: 'actions' }, submit),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn(field.value.trim(), error, submit);
  });
  replace(
    main,
    h('h1', {}, 'Sign in'),
    h(
      'div',
      { id: 'token-help', class: 'help' },
      h('p', {}, 'Paste an API token for this orchestrator. To mint one on its host:'),
      h(
        'pre',
        {},
        'npm run token -- --role viewer      # read only\nnpm run token -- --role operator    # may also reprocess and retry',
      ),
      h(
        'p',
        {},
        'Add ',
        h('code', {}, '--ttl 12h'),
        ' for a longer session (the default is ',
        h('code', {}, 'ACCESS_TOKEN_EXPIRE_MINUTES'),
        '). The token stays in this tab only and is forgotten when the tab closes or you sign out.',
      ),
    ),
    form,
  );
  field.focus();
}

async function signIn(token: string, error: HTMLElement, submit: HTMLButtonElement): Promise<void> {
  error.textContent = '';
  if (!token) {
    error.textContent = 'Paste a token first.';
    return;
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(token)) {
    error.textContent =
      'That is not an API token: a token is three dot-separated parts of letters, digits, - and _.';
    return;
  }
  submit.disabled = true;
  try {
    const info = await api<TokenInfo>('/api/v1/auth/whoami', { token });
    session.start(token, info);
    showNotice(null);
    const next = currentRoute().query.get('next');
    const target =
      next && next.startsWith(`${BASE}/`) && !next.startsWith(`${BASE}/sign-in`)
        ? next
        : href('deliveries');
    navigate(target, { replace: true });
  } catch (e) {
    error.textContent =
      e instanceof ApiError && e.status === 401
        ? 'This token was refused: it is not valid for this server, or it has expired or been revoked. Mint a new one (see above).'
        : e instanceof ApiError
          ? `Could not check the token: ${e.describe()}`
          : `Could not reach the server: ${String(e)}`;
  } finally {
    submit.disabled = false;
  }
}
