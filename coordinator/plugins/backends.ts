/**
 * Infrastructure: the metadata store, the blob store and the bus, chosen by configuration
 * (docs/DESIGN.md "Two modes, one code path") and decorated on the app. Backends passed in by
 * the caller (tests sharing a database between two apps) are the caller's to close.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import {
  type BlobStore,
  blobRoute,
  createBlobStore,
  isServedBlobStore,
  MemoryBlobStore,
} from '../blobs/index.ts'
import { type Bus, createBus } from '../bus/index.ts'
import { type Config, dataPaths } from '../config.ts'
import { type Db, openStore } from '../store/index.ts'
import { blobSigningSecret } from './keys.ts'

export interface Backends {
  db?: Db | undefined
  blobs?: BlobStore | undefined
  bus?: Bus | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    db: Db
    blobs: BlobStore
    bus: Bus
    /** The clock every handler reads, so tests can move time. */
    now: () => Date
  }
}

async function backends(
  app: FastifyInstance,
  options: { config: Config; given: Backends; now: () => Date },
): Promise<void> {
  const { config, given } = options
  const paths = config.dataDir ? dataPaths(config.dataDir) : undefined
  const db =
    given.db ??
    (await openStore({
      ...(config.databaseUrl && { databaseUrl: config.databaseUrl }),
      ...(paths && { dataDir: paths.database }),
    }))
  const bus =
    given.bus ??
    createBus({
      redisUrl: config.redisUrl,
      onHandlerError: (err, channel) => app.log.error({ err, channel }, 'bus handler failed'),
    })
  // Every instance of a deployment shares the coordinator key, so they agree on this one.
  const secret = config.blobSigningSecret ?? blobSigningSecret(app.keys)
  const blobs = given.blobs ?? defaultBlobStore(config, paths?.blobs, secret)

  app.decorate('config', config)
  app.decorate('now', options.now)
  app.decorate('db', db)
  app.decorate('bus', bus)
  app.decorate('blobs', blobs)
  app.addHook('onClose', async () => {
    if (!given.bus) await bus.close()
    if (!given.blobs) await blobs.close()
    if (!given.db) await db.close()
  })

  if (isServedBlobStore(blobs)) {
    // Signed URLs need an absolute base; until listen tells the port, the configured
    // address stands in (inject-only tests never fetch those URLs).
    blobs.setPublicUrl(config.publicUrl ?? `http://${config.host}:${config.port}`)
    app.addHook('onListen', async () => {
      if (config.publicUrl) return
      const address = app.server.address()
      if (address && typeof address === 'object') {
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
        blobs.setPublicUrl(`http://${host}:${address.port}`)
      }
    })
    await app.register(blobRoute, { store: blobs })
  }
}

/** S3 when configured; else local disk under the data dir; else memory (tests). */
function defaultBlobStore(
  config: Config,
  directory: string | undefined,
  signingSecret: string | Uint8Array,
): BlobStore {
  if (config.s3) return createBlobStore({ s3: config.s3, localDirectory: '' })
  if (directory) return createBlobStore({ localDirectory: directory, signingSecret })
  return new MemoryBlobStore()
}

export const backendsPlugin = fp(backends, {
  fastify: '5.x',
  name: 'cloudsync-backends',
  dependencies: ['cloudsync-keys'],
})
