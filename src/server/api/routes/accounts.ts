import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ACCOUNT_KINDS, ACCOUNT_STATUSES } from '../../../model/account.js';
import {
  ACCOUNT_IDENTIFIER_KINDS,
  ACCOUNT_SEARCH_DEFAULT_LIMIT,
  ACCOUNT_SEARCH_MAX_LIMIT,
} from '../../../store/queries/account-search.js';
import type { Store } from '../../../store/store.js';
import { ApiError, notFound } from '../errors.js';
import { cursorParam, idParam, limitParam, searchText, noQuery } from '../schemas.js';
import {
  accountDetailSchema,
  accountDetailView,
  accountSummarySchema,
  accountSummaryView,
  changeSchema,
  changeView,
  errorSchema,
  pageSchema,
} from '../views.js';

/** Accounts: search (by identifier or by name/email), one account in full, its history. */
export const accountRoutes: FastifyPluginAsyncZod<{ store: Store }> = (app, { store }) => {
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

  app.get(
    '/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'find accounts by identifier, or by name or email; a page at a time in id order',
        description:
          '`identifier` is an exact lookup (any login identity: Clever id, email, SIS id, student, state, staff or teacher number; the account id; its record id), through indexes; `identifierType` narrows it (`username` reads the roster records). `q` finds names whose parts start with each word, emails starting with it, and exact identifiers.',
        querystring: z
          .object({
            district: idParam.optional(),
            identifier: searchText.optional(),
            identifierType: z.enum(ACCOUNT_IDENTIFIER_KINDS).optional(),
            q: searchText.optional(),
            kind: z.enum(ACCOUNT_KINDS).optional(),
            status: z.enum(ACCOUNT_STATUSES).optional(),
            after: cursorParam.optional(),
            limit: limitParam(ACCOUNT_SEARCH_DEFAULT_LIMIT, ACCOUNT_SEARCH_MAX_LIMIT),
          })
          .strict(),
        response: { 200: pageSchema(accountSummarySchema, 'AccountPage'), ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.identifierType !== undefined && q.identifier === undefined)
        throw new ApiError(400, 'invalid_request', 'query.identifierType: needs query.identifier', {
          issues: [{ field: 'query.identifierType', message: 'needs query.identifier' }],
        });
      const page = await store.accountSearch.search({
        limit: q.limit,
        ...(q.district !== undefined ? { district: q.district } : {}),
        ...(q.identifier !== undefined ? { identifier: q.identifier } : {}),
        ...(q.identifierType !== undefined ? { identifierKind: q.identifierType } : {}),
        ...(q.q !== undefined ? { text: q.q } : {}),
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
      });
      return { items: page.items.map(accountSummaryView), next: page.next };
    },
  );

  app.get(
    '/accounts/:account',
    {
      schema: {
        querystring: noQuery,
        tags: ['accounts'],
        summary: 'one account: identities, roles, access, overrides, latest history',
        params: z.object({ account: idParam }).strict(),
        response: { 200: accountDetailSchema, ...errors },
      },
    },
    async (req) => {
      const d = await store.accountSearch.detail(req.params.account);
      if (!d) throw notFound(`account ${req.params.account}`);
      return accountDetailView(d);
    },
  );

  app.get(
    '/accounts/:account/history',
    {
      schema: {
        tags: ['accounts'],
        summary: "an account's changes from the change feed, newest first",
        params: z.object({ account: idParam }).strict(),
        querystring: z
          .object({
            before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
            limit: limitParam(50, 500),
          })
          .strict(),
        response: {
          200: z.object({ items: z.array(changeSchema), before: z.number().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      if (!(await store.accounts.get(req.params.account))) throw notFound(`account ${req.params.account}`);
      const h = await store.accountSearch.history(req.params.account, {
        limit: req.query.limit,
        ...(req.query.before !== undefined ? { before: req.query.before } : {}),
      });
      return { items: h.changes.map(changeView), before: h.before };
    },
  );
  return Promise.resolve();
};
