/**
 * Probes: `GET /healthz` says the process answers (liveness); `GET /readyz` checks each
 * backend (metadata store, bus, blob store) so a load balancer stops sending traffic to
 * an instance that cannot serve it.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** A backend that does not answer within this long counts as down. */
const CHECK_TIMEOUT_MS = 3000

async function timed(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    )
  })
  try {
    await Promise.race([check(), timeout])
    return 'ok'
  } catch (err) {
    return `failed: ${(err as Error).message}`
  } finally {
    clearTimeout(timer)
  }
}

async function health(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const [store, bus, blobs] = await Promise.all([
      timed(() => app.db.query('SELECT 1')),
      timed(() => app.bus.check()),
      timed(() => app.blobs.check()),
    ])
    const checks = { store, bus, blobs }
    const ready = Object.values(checks).every((c) => c === 'ok')
    reply.code(ready ? 200 : 503)
    return { status: ready ? 'ready' : 'not ready', checks }
  })
}

export const healthPlugin = fp(health, {
  fastify: '5.x',
  name: 'cloudsync-health',
  dependencies: ['cloudsync-backends'],
})
