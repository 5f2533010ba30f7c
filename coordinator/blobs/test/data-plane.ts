/** Test helper: a real Fastify server on 127.0.0.1 serving a ServedBlobStore's URLs. */
import Fastify from 'fastify'
import { blobRoute } from '../local-route.ts'
import type { ServedBlobStore } from '../served-blob-store.ts'

export interface DataPlane {
  url: string
  close(): Promise<void>
}

export async function startDataPlane(store: ServedBlobStore): Promise<DataPlane> {
  const app = Fastify()
  await app.register(blobRoute, { store })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  // The port is known only now, which is exactly why the store takes its URL late.
  store.setPublicUrl(url)
  return { url, close: () => app.close() }
}
