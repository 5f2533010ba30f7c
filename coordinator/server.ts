/**
 * Starts a coordinator: `node coordinator/server.ts`. With no configuration it runs on
 * the embedded defaults (PGlite, local blobs and its key under ./cloudsync-data, the
 * in-process bus) on port 8080, and prints where it listens.
 *
 * Several instances may share one Postgres (DATABASE_URL) and one Redis (REDIS_URL); they
 * must share COORDINATOR_KEY too. A schema other than the default is chosen in the URL,
 * as libpq does: `postgres://…/db?options=-c%20search_path%3Dmy_schema` (the tests and the
 * benchmark run each coordinator set in a fresh schema this way).
 */
import { createServer } from 'node:net'
import { startBufferCollector } from '../protocol/memory/buffer-collector.ts'
import { buildApp } from './app.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'

/** A listen address another process holds: said plainly, with exit code 1. */
export class PortInUseError extends Error {
  readonly exitCode = 1
  constructor(host: string, port: number) {
    super(
      `${host}:${port} is already in use (another coordinator?): choose another port with --port or PORT`,
    )
  }
}

/** Fails before anything is created (data dir, key, token) when the address is taken. */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return
  const probe = createServer()
  await new Promise<void>((done, fail) => {
    probe.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'EADDRINUSE' ? new PortInUseError(host, port) : err),
    )
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done()))
  })
}

export async function startServer(
  config: Config,
): Promise<{ url: string; close: () => Promise<void> }> {
  await checkPortFree(config.host, config.port)
  const app = await buildApp(config)
  const url = await app.listen({ host: config.host, port: config.port })
  // The embedded blob store carries chunk bytes through this process (S3 takes them
  // elsewhere): they are collected like a device's (protocol/memory/buffer-collector.ts).
  const stopCollector = config.s3 ? () => {} : startBufferCollector()
  return {
    url,
    close: async () => {
      stopCollector()
      await app.close()
    },
  }
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env, { port: 8080, dataDir: './cloudsync-data' })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
  const { url, close } = await startServer(config).catch((err: Error) => {
    if (!(err instanceof PortInUseError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(err.exitCode)
  })
  const backends = [
    config.databaseUrl ? 'Postgres' : `PGlite in ${config.dataDir}`,
    config.redisUrl ? 'Redis bus' : 'in-process bus',
    config.s3 ? `S3 bucket ${config.s3.bucket}` : `local blobs in ${config.dataDir}`,
  ]
  process.stdout.write(`cloudsync coordinator listening on ${url} (${backends.join(', ')})\n`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    })
  }
}

if (import.meta.main) await main()
