/**
 * Runs garbage collection (services/gc.ts) every `gcIntervalMs` on this instance; 0
 * disables it (tests call runGc themselves). Every instance may run it: the collector is
 * safe concurrently. A run never overlaps the previous one, and closing waits for it.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { runGc } from '../services/gc.ts'

async function gc(app: FastifyInstance): Promise<void> {
  const interval = app.config.gcIntervalMs
  if (interval <= 0) return
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  const tick = () => {
    if (running) return
    running = runGc(app, app.now())
      .then((report) => {
        const { expiredSessions, chunksCollected, blobsDeleted, sweptSessions } = report
        if (expiredSessions.length + chunksCollected + blobsDeleted + sweptSessions === 0) return
        app.log.info(
          { expiredSessions: expiredSessions.length, chunksCollected, blobsDeleted, sweptSessions },
          'garbage collected',
        )
      })
      .catch((err: unknown) => app.log.error({ err }, 'garbage collection failed'))
      .finally(() => {
        running = undefined
      })
  }

  app.addHook('onReady', async () => {
    // Instances started together spread their runs instead of colliding every time.
    const first = Math.floor(interval * (0.5 + Math.random() / 2))
    timer = setTimeout(function again() {
      tick()
      timer = setTimeout(again, interval).unref()
    }, first).unref()
  })
  // Before the backends close (their onClose hooks): the run in flight still needs them.
  app.addHook('preClose', async () => {
    clearTimeout(timer)
    await running
  })
}

export const gcPlugin = fp(gc, {
  fastify: '5.x',
  name: 'cloudsync-gc',
  dependencies: ['cloudsync-backends', 'cloudsync-feed'],
})
