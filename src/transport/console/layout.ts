import { html, type Html } from './html.js';
import type { Session } from './sessions.js';

export interface PageContext {
  session: Session | undefined;
  /** No access file: every signed-in person holds every role, and the console listens on loopback only. */
  dev: boolean;
  /** `gavel console --ledger`: files read, nothing written (no approvals, no replay). */
  readOnly: boolean;
  ledgers: readonly string[];
}

const NAV = [
  ['/decisions', 'Decisions'],
  ['/timeline', 'Timeline'],
  ['/approvals', 'Approvals'],
  ['/budgets', 'Budgets'],
  ['/policies', 'Policies'],
  ['/integrity', 'Integrity'],
] as const;

/** The page shell: landmarks, a skip link, the navigation with the current page marked, who is signed in. */
export function page(ctx: PageContext, current: string, title: string, body: Html): Html {
  const s = ctx.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · gavel console</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${ctx.dev ? html`<p class="banner" role="status">Development mode: no access file, so everyone signed in holds every role. This console listens on loopback only.</p>` : ''}
<header>
<p class="brand"><a href="/decisions">gavel console</a>${ctx.readOnly ? html` <span class="tag">read-only: ${ctx.ledgers.join(', ')}</span>` : ''}</p>
${
  s
    ? html`<nav aria-label="Main"><ul>${NAV.map(
        ([href, label]) => html`<li><a href="${href}"${current === href ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )}</ul></nav>
<form class="who" method="post" action="/logout"><span>Signed in as <strong>${s.identity}</strong> (${[...s.roles].join(', ') || 'no roles'}${
        s.approverRoles.length ? html`; approves as ${s.approverRoles.join(', ')}` : ''
      })</span> <input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A short problem page body (the status code is the caller's). */
export function problem(message: string): Html {
  return html`<p class="error" role="alert">${message}</p>`;
}
