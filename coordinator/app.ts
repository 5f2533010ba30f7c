/**
 * Builds the coordinator (the Fastify demo's shape: `app.ts` builds, `server.ts` listens,
 * tests call `app.inject()`). Infrastructure plugins first, then the route groups.
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import type { BlobStore } from './blobs/index.ts'
import type { Bus } from './bus/index.ts'
import type { Config } from './config.ts'
import { authPlugin } from './plugins/auth.ts'
import { backendsPlugin } from './plugins/backends.ts'
import { errorsPlugin } from './plugins/errors.ts'
import { feedPlugin } from './plugins/feed.ts'
import { gcPlugin } from './plugins/gc.ts'
import { healthPlugin } from './plugins/health.ts'
import { keysPlugin } from './plugins/keys.ts'
import { logSerializers, redactPaths } from './plugins/log-redaction.ts'
import { metricsPlugin } from './plugins/metrics.ts'
import { openapiPlugin } from './plugins/openapi.ts'
import { operatorPlugin } from './plugins/operator.ts'
import { utf8JsonPlugin } from './plugins/utf8-json.ts'
import { strictValidatorCompiler } from './plugins/validator.ts'
import { adminRoutes } from './routes/admin/index.ts'
import { deviceRoutes } from './routes/devices/index.ts'
import { filesRoutes } from './routes/files/index.ts'
import { syncRoutes } from './routes/sync/index.ts'
import type { Db } from './store/index.ts'

/** Backends and a clock a caller may supply; supplied backends are the caller's to close. */
export interface AppDeps {
  db?: Db
  blobs?: BlobStore
  bus?: Bus
  now?: () => Date
  /** Where the request log goes instead of stdout (tests read it). */
  logStream?: { write(line: string): void }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      serializers: logSerializers,
      redact: redactPaths,
      ...(deps.logStream && { stream: deps.logStream }),
    },
    bodyLimit: config.limits.bodyLimit,
    // Devices retry on a dropped connection; a hung one must not hold a socket for ever.
    requestTimeout: 120_000,
    // Opening the embedded database and applying migrations is WebAssembly on this thread:
    // several instances starting at once on a busy machine took longer than Fastify's
    // default 10 s per plugin, and a coordinator that was merely slow refused to start.
    pluginTimeout: 60_000,
  }).withTypeProvider<TypeBoxTypeProvider>()
  // TypeBox checks requests instead of Fastify's default Ajv, which would strip unknown
  // fields silently (removeAdditional) and coerce body types for every part ("350" -> 350,
  // and 0 -> null in a `Version | null` union). Here bodies are checked as sent, extra
  // fields are refused, and only query strings and params (text by nature) are converted,
  // from decimal digits only.
  app.setValidatorCompiler(strictValidatorCompiler)

  await app.register(errorsPlugin)
  await app.register(utf8JsonPlugin)
  // Before the backends: the local blob store's URL key is derived from the coordinator key.
  await app.register(keysPlugin, { config })
  await app.register(backendsPlugin, {
    config,
    given: { db: deps.db, blobs: deps.blobs, bus: deps.bus },
    now: deps.now ?? (() => new Date()),
  })
  await app.register(feedPlugin)
  await app.register(gcPlugin)
  await app.register(metricsPlugin, { defaultMetrics: !deps.now })
  await app.register(openapiPlugin)
  await app.register(authPlugin)
  await app.register(operatorPlugin, { config })
  await app.register(healthPlugin)
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  await app.register(deviceRoutes)
  await app.register(filesRoutes)
  await app.register(syncRoutes)
  await app.register(adminRoutes)
  await app.ready()
  return app
}
