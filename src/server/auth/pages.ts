import { createHash } from 'node:crypto';
import type { PersonName } from '../../model/entities.js';

const ASK_SCHOOL = "Ask your teacher or your school's office";

/**
 * Every reason a sign-in is refused: the stable code in logs and metrics, and what the page says to
 * the person who tried (often a student): what happened, what to do, and whether trying again can help.
 */
export const REFUSAL_REASONS = {
  state_mismatch: {
    status: 400,
    text: 'This sign-in did not start in this browser, or it took too long.',
    next: 'Start again from Clever, in this same browser window.',
    retry: true,
  },
  missing_code: {
    status: 400,
    text: 'Clever did not send us what we need to sign you in.',
    next: 'Start again from Clever.',
    retry: true,
  },
  authorization_denied: {
    status: 403,
    text: 'Clever did not let this app sign you in.',
    next: `If you meant to sign in, start again and allow it. If this keeps happening, ${ASK_SCHOOL.toLowerCase()} for help.`,
    retry: true,
  },
  code_rejected: {
    status: 400,
    text: 'This sign-in link was already used or has expired.',
    next: 'Start again from Clever: each sign-in link works once, for a few minutes.',
    retry: true,
  },
  district_not_configured: {
    status: 403,
    text: 'Your school district is not set up for this app.',
    next: `${ASK_SCHOOL}: your district has to turn this app on before you can sign in.`,
    retry: false,
  },
  district_mismatch: {
    status: 403,
    text: 'You signed in to Clever in a different district than the one this sign-in was started for.',
    next: "Start again from your own school's Clever portal.",
    retry: true,
  },
  unknown_user: {
    status: 403,
    text: 'There is no account for you in this app.',
    next: `${ASK_SCHOOL} to check that you should have one. A new student's account can take a day to appear.`,
    retry: false,
  },
  account_deactivated: {
    status: 403,
    text: 'Your account in this app is turned off, so you cannot sign in with it.',
    next: `${ASK_SCHOOL}. They can see why it was turned off and turn it back on if it should be.`,
    retry: false,
  },
  not_provisioned: {
    status: 403,
    text: 'Your district has not given you an account in this app (for example, your grade is not included).',
    next: `${ASK_SCHOOL} if you should have access to this app.`,
    retry: false,
  },
  clever_credentials_rejected: {
    status: 502,
    text: 'Sign-in with Clever is set up wrong on our side. It is not your fault.',
    next: `${ASK_SCHOOL} to tell the app's support team, then try again later.`,
    retry: true,
  },
  clever_unavailable: {
    status: 502,
    text: 'Clever could not be reached.',
    next: 'Wait a minute and try again.',
    retry: true,
  },
} as const satisfies Record<string, { status: number; text: string; next: string; retry: boolean }>;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The admin app's palette and type (views/admin.css), light and dark, for pages with no stylesheet of their own. */
const STYLE = `
:root{color-scheme:light dark;--bg:#f7f7f5;--panel:#fff;--text:#1c1d1f;--muted:#5b6068;--line:#d9dbde;--link:#0b57b0;--focus:#1a73e8;--ok:#146c2e;--ok-bg:#e3f4e8;--bad:#a01c1c;--bad-bg:#fde4e2;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:16px;line-height:1.5}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--panel:#1e2125;--text:#e8eaed;--muted:#a7adb5;--line:#3a3f45;--link:#8ab4f8;--focus:#8ab4f8;--ok:#7ee2a0;--ok-bg:#16331f;--bad:#ff9b93;--bad-bg:#3d1a18}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text)}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
main{max-width:34rem;margin:8vh auto;padding:0 16px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:24px 28px}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 12px}
h2{font-size:1.05rem;margin:20px 0 6px}
p{margin:.4em 0}
.notice{padding:10px 14px;border-radius:8px;border-left:4px solid currentColor;margin:12px 0}
.notice.ok{color:var(--ok);background:var(--ok-bg)}
.notice.bad{color:var(--bad);background:var(--bad-bg)}
.muted{color:var(--muted);font-size:.92rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:12px 0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
.button{display:inline-block;margin-top:12px;padding:8px 16px;border-radius:8px;background:var(--link);color:var(--panel);font-weight:600;text-decoration:none}
`;

/**
 * The Content-Security-Policy of these pages: nothing loads, nothing runs, only the style above
 * (by its hash) applies, and no other site may frame them.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function page(title: string, body: string): string {
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main><div class="card">`,
    body,
    '</div></main></body></html>',
  ].join('');
}

/**
 * The page of a refused sign-in: what happened and what to do, in words a student understands, and
 * the reason code to give whoever helps. Nothing about the person (no name, no id) and no token.
 */
export function refusalPage(reason: RefusalReason): string {
  const r = REFUSAL_REASONS[reason];
  return page(
    'You could not be signed in',
    '<h1>You could not be signed in</h1>' +
      `<div class="notice bad" role="alert"><p>${escapeHtml(r.text)}</p></div>` +
      `<h2>What to do</h2><p>${escapeHtml(r.next)}</p>` +
      (r.retry ? '<p><a class="button" href="/auth/clever/login">Sign in with Clever again</a></p>' : '') +
      `<p class="muted">If you ask for help, give this code: <code data-reason="${reason}">${reason}</code></p>`,
  );
}

/** Shown to the person who signed in when no `sso.appUrl` is configured. */
export function signedInPage(who: {
  name: PersonName;
  accountId: string;
  kind: string;
  roles: readonly string[];
  district: string;
}): string {
  const name = [who.name.first, who.name.last].filter((x) => x).join(' ');
  const rows: Array<[string, string]> = [
    ['Name', name],
    ['Account', who.accountId],
    ['Kind', who.kind],
    ['Roles', who.roles.join(', ') || '(none)'],
    ['District', who.district],
  ];
  return page(
    'Signed in',
    '<h1>Signed in</h1>' +
      '<p class="notice ok" role="status">Clever signed you in to this account.</p><dl>' +
      rows
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd data-field="${k.toLowerCase()}">${escapeHtml(v)}</dd>`)
        .join('') +
      '</dl>' +
      '<p class="muted">This page shows who signed in because no app address (<code>sso.appUrl</code>) is configured.</p>',
  );
}
