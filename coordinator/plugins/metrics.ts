/**
 * Prometheus metrics (prom-client) on `GET /metrics`: request counts and latency by route,
 * plus the coordinator's own events. One registry per app, so tests that build several
 * apps in one process do not share counters.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export interface CoordinatorMetrics {
  registry: Registry
  commits: Counter<'kind'>
  uploadsInitiated: Counter
  chunksRequested: Counter
  published: Counter<'type'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: CoordinatorMetrics
  }
}

async function metrics(app: FastifyInstance, options: { defaultMetrics?: boolean }): Promise<void> {
  const registry = new Registry()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'cloudsync_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'cloudsync_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  })
  app.decorate('metrics', {
    registry,
    commits: new Counter({
      name: 'cloudsync_commits_total',
      help: 'File versions committed by uploads, by kind (created, modified)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    uploadsInitiated: new Counter({
      name: 'cloudsync_uploads_initiated_total',
      help: 'Upload sessions opened',
      registers: [registry],
    }),
    chunksRequested: new Counter({
      name: 'cloudsync_upload_chunks_requested_total',
      help: 'Chunks the store lacked at upload init (dedup misses)',
      registers: [registry],
    }),
    published: new Counter({
      name: 'cloudsync_bus_published_total',
      help: 'Messages published on the bus, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
  })

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids in URLs would make a label per file.
    const route = request.routeOptions.url ?? 'unknown'
    requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}

export const metricsPlugin = fp(metrics, { fastify: '5.x', name: 'cloudsync-metrics' })
