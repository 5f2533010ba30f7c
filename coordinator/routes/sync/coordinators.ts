/**
 * `GET /coordinators`: the instances serving this deployment, so a device that loses its
 * instance knows where else to go (peer/adapters/endpoints.ts). Each instance lists itself
 * on its presence heartbeat; a dead one drops out when its lease lapses.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CoordinatorList } from '../../../protocol/schemas/sync.ts'
import { liveInstanceUrls } from '../../store/presence.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const coordinatorsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/coordinators',
    {
      schema: {
        tags: ['sync'],
        security: deviceSecurity,
        summary: 'The coordinator instances a device may fail over to',
        response: { 200: CoordinatorList, ...errorResponses },
      },
    },
    async () => {
      const urls = await liveInstanceUrls(app.db, app.now())
      return { coordinators: urls.map((url) => ({ url })) }
    },
  )
}
