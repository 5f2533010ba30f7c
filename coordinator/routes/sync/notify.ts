/**
 * `POST /sync/notify`: a device says it saw local changes under some paths (its upload
 * follows). The coordinator records that the device is alive and answers the account's
 * current cursor, so the device knows whether it must read changes before uploading.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { NotifyRequest, NotifyResponse } from '../../../protocol/schemas/sync.ts'
import { checkPath } from '../../services/uploads.ts'
import { getAccount } from '../../store/accounts.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const notifyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sync/notify',
    {
      schema: {
        tags: ['sync'],
        security: deviceSecurity,
        summary: 'A device reports local changes; answers the account cursor',
        body: NotifyRequest,
        response: { 200: NotifyResponse, ...errorResponses },
      },
    },
    async (request) => {
      const paths = request.body.paths.map((p, i) => checkPath(app, p, `paths[${i}]`))
      const account = await getAccount(app.db, request.device.accountId)
      if (!account) throw new CloudsyncError('UNAUTHENTICATED', 'The account no longer exists')
      request.log.info({ deviceId: request.device.deviceId, paths }, 'device notified changes')
      return { cursor: account.lastSeq }
    },
  )
}
