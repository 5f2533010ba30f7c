/**
 * The data plane of the embedded blob store: `PUT /blobs/:key` and `GET /blobs/:key`,
 * reached through URLs signed by the store (local-signing.ts). Register it without a prefix:
 * signed URLs name the path. Every refusal is a 4xx `{error:{code,message}}` and writes
 * nothing; PUT bodies stream to disk while being hashed.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import { assertBlobKey } from './blob-checks.ts'
import { BLOB_ROUTE_PATH, type SignedQuery } from './local-signing.ts'
import type { ServedBlobStore } from './served-blob-store.ts'

export interface BlobRouteOptions {
  store: ServedBlobStore
}

interface BlobRequest {
  Params: { key: string }
  Querystring: SignedQuery
}

async function blobRoutes(app: FastifyInstance, { store }: BlobRouteOptions): Promise<void> {
  // Encapsulated child: the pass-through body parser and the error mapping stay local to
  // these two routes even though the plugin itself is registered with fastify-plugin.
  await app.register(async (routes) => {
    // Hand the raw request stream to the handler unread; any content type (even JSON) is
    // bytes here.
    routes.removeAllContentTypeParsers()
    routes.addContentTypeParser('*', (_request, _payload, done) => done(null))
    routes.setErrorHandler((err: FastifyError, request, reply) => {
      // A refused upload may still be sending: close the connection after answering rather
      // than read (and discard) up to 64 MiB the client should not have sent.
      if (!request.raw.complete) reply.header('connection', 'close')
      if (isCloudsyncError(err)) return sendError(reply, err)
      if (err.statusCode === 413) return sendError(reply, new CloudsyncError('TOO_LARGE'))
      // Anything else is the application's concern (its error handler, its logs).
      throw err
    })

    routes.put<BlobRequest>(`${BLOB_ROUTE_PATH}/:key`, async (request, reply) => {
      const { key } = request.params
      assertBlobKey(key)
      const { size } = store.signer.verify('PUT', key, request.query)
      const declared = request.headers['content-length']
      if (declared !== undefined) rejectDeclaredSize(Number(declared), size!)
      // destroyOnReturn false: a refusal mid-body must leave the socket able to carry the
      // 4xx answer (destroying the request would destroy the connection under it).
      await store.receive(key, request.raw.iterator({ destroyOnReturn: false }), size!)
      return reply.code(200).send()
    })

    routes.get<BlobRequest>(`${BLOB_ROUTE_PATH}/:key`, async (request, reply) => {
      const { key } = request.params
      assertBlobKey(key)
      store.signer.verify('GET', key, request.query)
      const blob = await store.openRead(key)
      if (!blob) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
      return (
        reply
          .header('content-type', 'application/octet-stream')
          .header('content-length', blob.size)
          // Content-addressed: the bytes under a key never change.
          .header('cache-control', 'private, max-age=31536000, immutable')
          .send(blob.stream)
      )
    })
  })
}

/** Refuses before reading a byte when Content-Length already disagrees with the signature. */
function rejectDeclaredSize(declared: number, signed: number): void {
  if (declared > signed) {
    throw new CloudsyncError('TOO_LARGE', `Body of ${declared} bytes; the URL allows ${signed}`)
  }
  if (declared < signed) {
    throw new CloudsyncError(
      'CHUNK_CORRUPT',
      `Body has ${declared} bytes; the URL was signed for ${signed}`,
    )
  }
}

function sendError(reply: FastifyReply, err: CloudsyncError): FastifyReply {
  return reply.code(err.status).type('application/json').send(err.toJSON())
}

export const blobRoute = fp(blobRoutes, { fastify: '5.x', name: 'cloudsync-blob-route' })
