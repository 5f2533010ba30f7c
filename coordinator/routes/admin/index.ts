/** Operator routes: `POST /admin/accounts` creates an account and answers its first link token. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AccountId, IsoDateTime, Token } from '../../../protocol/schemas/common.ts'
import { createAccount } from '../../services/accounts.ts'

const CreatedAccount = Type.Object(
  { accountId: AccountId, token: Token, expiresAt: IsoDateTime },
  { additionalProperties: false },
)

export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticateOperator)
  app.post(
    '/admin/accounts',
    { schema: { response: { 201: CreatedAccount } } },
    async (_request, reply) => {
      const created = await createAccount(app.db, {
        linkTokenTtlMs: app.config.linkTokenTtlMs,
        now: app.now(),
        print: null,
      })
      app.log.info({ accountId: created.accountId }, 'account created')
      reply.code(201)
      return { ...created, expiresAt: created.expiresAt.toISOString() }
    },
  )
}
