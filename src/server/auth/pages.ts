import type { PersonName } from '../../model/entities.js';

/** Every reason a sign-in is refused: the stable code in logs and metrics, and what the page says. */
export const REFUSAL_REASONS = {
  state_mismatch: {
    status: 400,
    text: 'This sign-in did not start in this browser, or it took too long. Please start again.',
  },
  missing_code: { status: 400, text: 'Clever sent no authorization code. Please start again.' },
  authorization_denied: { status: 403, text: 'Clever did not authorize this sign-in.' },
  code_rejected: {
    status: 400,
    text: 'This sign-in link was already used or has expired. Please start again from Clever.',
  },
  district_not_configured: { status: 403, text: 'Your school district is not set up for this app.' },
  district_mismatch: {
    status: 403,
    text: 'You signed in to Clever in a different district than the one this sign-in was started for.',
  },
  unknown_user: { status: 403, text: 'There is no account for you in this app.' },
  account_deactivated: { status: 403, text: 'Your account in this app is deactivated.' },
  not_provisioned: {
    status: 403,
    text: 'Your district has not given you an account in this app (for example, your grade is not included).',
  },
  clever_credentials_rejected: {
    status: 502,
    text: 'Sign-in with Clever is misconfigured on our side. Please tell your administrator.',
  },
  clever_unavailable: { status: 502, text: 'Clever could not be reached. Please try again in a minute.' },
} as const satisfies Record<string, { status: number; text: string }>;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head><body><main>`,
    body,
    '</main></body></html>',
  ].join('');
}

/** The page of a refused sign-in: what happened in words, the reason code, and a way to start again. */
export function refusalPage(reason: RefusalReason): string {
  return page(
    'Sign-in refused',
    `<h1>Sign-in refused</h1><p>${escapeHtml(REFUSAL_REASONS[reason].text)}</p>` +
      `<p>Reason: <code data-reason="${reason}">${reason}</code></p>` +
      '<p><a href="/auth/clever/login">Sign in with Clever again</a></p>',
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
    '<h1>Signed in</h1><dl>' +
      rows
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd data-field="${k.toLowerCase()}">${escapeHtml(v)}</dd>`)
        .join('') +
      '</dl>',
  );
}
