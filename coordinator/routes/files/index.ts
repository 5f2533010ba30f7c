/** The files route group; every route needs a device credential. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { historyRoutes } from './history.ts'
import { readRoutes } from './read.ts'
import { uploadRoutes } from './upload.ts'
import { writeRoutes } from './write.ts'

export const filesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)
  await app.register(uploadRoutes)
  await app.register(readRoutes)
  await app.register(writeRoutes)
  await app.register(historyRoutes)
}
