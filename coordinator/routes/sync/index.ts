/** The sync route group; every route (the WebSocket included) needs a device credential. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { changesRoutes } from './changes.ts'
import { coordinatorsRoutes } from './coordinators.ts'
import { notifyRoutes } from './notify.ts'
import { snapshotRoutes } from './snapshot.ts'
import { websocketRoutes } from './websocket.ts'

export const syncRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)
  await app.register(changesRoutes)
  await app.register(coordinatorsRoutes)
  await app.register(notifyRoutes)
  await app.register(snapshotRoutes)
  await app.register(websocketRoutes)
}
