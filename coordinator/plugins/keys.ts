/**
 * The coordinator's Ed25519 key, which signs device certificates. Every instance must
 * share it (a certificate from one instance is checked by peers against the key any
 * instance hands out), so it comes from configuration, or from the data directory, where
 * it is made on first start. Without either, a key per process: fine for tests only.
 */
import { createPublicKey } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import {
  type CoordinatorKeys,
  decodePrivateKey,
  encodePublicKey,
  generateCoordinatorKeys,
} from '../../protocol/certificates.ts'
import { type Config, dataPaths } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keys: CoordinatorKeys
  }
}

export async function loadCoordinatorKeys(config: Config): Promise<CoordinatorKeys> {
  if (config.coordinatorKey) return fromPrivate(config.coordinatorKey)
  if (!config.dataDir) return generateCoordinatorKeys()
  const file = dataPaths(config.dataDir).coordinatorKey
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as { privateKey: string }
    return fromPrivate(stored.privateKey)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const keys = generateCoordinatorKeys()
  await mkdir(config.dataDir, { recursive: true })
  // 'wx': two processes starting at once must not each write a different key.
  await writeFile(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' })
  return keys
}

function fromPrivate(privateKey: string): CoordinatorKeys {
  const key = decodePrivateKey(privateKey)
  return { privateKey, publicKey: encodePublicKey(createPublicKey(key)) }
}

async function keys(app: FastifyInstance, options: { config: Config }): Promise<void> {
  app.decorate('keys', await loadCoordinatorKeys(options.config))
}

export const keysPlugin = fp(keys, { fastify: '5.x', name: 'cloudsync-keys' })
