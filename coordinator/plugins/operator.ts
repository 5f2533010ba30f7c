/**
 * The operator's bearer token for `/admin` routes (there is no user login: docs/DESIGN.md "Scope").
 * From configuration, or kept in the data directory, where the command line on the same
 * machine reads it; made on first start like the coordinator key.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError } from '../../protocol/errors.ts'
import { type Config, dataPaths } from '../config.ts'
import { credentialOf } from './auth.ts'

declare module 'fastify' {
  interface FastifyInstance {
    authenticateOperator(request: FastifyRequest): Promise<void>
  }
}

export async function loadOperatorToken(config: Config): Promise<string> {
  if (config.operatorToken) return config.operatorToken
  if (!config.dataDir) return randomBytes(32).toString('base64url')
  const file = dataPaths(config.dataDir).operatorToken
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(32).toString('base64url')
  await mkdir(config.dataDir, { recursive: true })
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
    return token
  } catch (err) {
    // Another instance made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return (await readFile(file, 'utf8')).trim()
  }
}

async function operator(app: FastifyInstance, options: { config: Config }): Promise<void> {
  const expected = Buffer.from(await loadOperatorToken(options.config))
  app.decorate('authenticateOperator', async (request: FastifyRequest) => {
    const given = Buffer.from(credentialOf(request) ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new CloudsyncError(
        'UNAUTHENTICATED',
        'Operator routes need the operator token (Authorization: Bearer …)',
      )
    }
  })
}

export const operatorPlugin = fp(operator, { fastify: '5.x', name: 'cloudsync-operator' })
