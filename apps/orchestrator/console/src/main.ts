import { whenUnauthorized } from './api.js';
import { h, replace, when } from './dom.js';
import { showNotice } from './notice.js';
import { deliveriesPage } from './pages/deliveries.js';
import { deliveryPage } from './pages/delivery.js';
import { healthPage } from './pages/health.js';
import { signInPage } from './pages/sign-in.js';
import { agentRunsPage, tasksPage } from './pages/tasks.js';
import { BASE, currentRoute, href, navigate, onNavigate } from './router.js';
import { session } from './session.js';

import type { Page } from './page.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const sessionBox = document.getElementById('session') as HTMLElement;
let generation = 0;

function signOut(message: string | null): void {
  session.end();
  const back = location.pathname.startsWith(`${BASE}/sign-in`)
    ? ''
    : location.pathname + location.search;
  navigate(href('sign-in', null, { next: back || undefined }));
  showNotice(message, message ? 'error' : 'info');
}

function drawSession(): void {
  const info = session.info();
  nav.hidden = info === null;
  sessionBox.hidden = info === null;
  if (!info) return;
  const button = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  button.addEventListener('click', () => signOut(null));
  replace(
    sessionBox,
    h(
      'span',
      { class: 'who', title: `token id ${info.token_id}` },
      info.subject,
      ' · ',
      h('strong', { 'data-testid': 'role' }, info.role),
    ),
    h('span', { class: 'expiry' }, 'expires ', when(info.expires_at)),
    button,
  );
  const section = currentRoute().section;
  for (const link of Array.from(nav.querySelectorAll('a'))) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function pageFor(section: string, id: string | null): Page | null {
  switch (section) {
    case 'deliveries':
      return id === null ? deliveriesPage : deliveryPage(id);
    case 'tasks':
      return tasksPage;
    case 'agent-runs':
      return agentRunsPage;
    case 'health':
      return healthPage;
    default:
      return null;
  }
}

async function render(): Promise<void> {
  const mine = ++generation;
  const isCurrent = (): boolean => mine === generation;
  const route = currentRoute();
  if (route.section !== 'sign-in') showNotice(null);
  if (route.section === 'sign-in') {
    drawSession();
    await signInPage(main, isCurrent);
    return;
  }
  if (!session.token()) {
    navigate(href('sign-in', null, { next: location.pathname + location.search }), {
      replace: true,
    });
    return;
  }
  if (route.section === '') {
    navigate(href('deliveries'), { replace: true });
    return;
  }
  drawSession();
  const page = pageFor(route.section, route.id);
  if (!page) {
    replace(
      main,
      h('h1', {}, 'Page not found'),
      h('p', {}, h('a', { href: href('deliveries') }, 'Go to deliveries')),
    );
    return;
  }
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page(main, isCurrent);
  } catch (error) {
    if (!isCurrent()) return;
    replace(
      main,
      h('h1', {}, 'Something went wrong'),
      h('p', { class: 'error' }, error instanceof Error ? error.message : String(error)),
    );
  }
}

whenUnauthorized((message) => signOut(message));
onNavigate(() => void render());
void render();
