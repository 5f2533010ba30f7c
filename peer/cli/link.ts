import { mkdir, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { createDomainSecret } from '../../protocol/crypto/keys.ts'
import { HttpCoordinator, linkDevice } from '../adapters/http-coordinator.ts'
import { type DeviceState, loadDeviceState, saveDeviceState } from '../daemon/device-state.ts'
import { CliError, EXIT } from './output.ts'

const CODE_PREFIX = 'cloudsync1:'

/** Everything a new device needs, on one line: coordinator URL, a link token, the secret. */
interface LinkCode {
  url: string
  token: string
  secret: string
}

export const encodeLinkCode = (code: LinkCode): string =>
  CODE_PREFIX + Buffer.from(JSON.stringify(code)).toString('base64url')

function decodeLinkCode(text: string): LinkCode {
  const fail = () =>
    new CliError('That is not a link code: run `cloudsync invite` on a linked device', EXIT.usage)
  if (!text.startsWith(CODE_PREFIX)) throw fail()
  try {
    const code = JSON.parse(
      Buffer.from(text.slice(CODE_PREFIX.length), 'base64url').toString(),
    ) as LinkCode
    if (
      typeof code.url !== 'string' ||
      typeof code.token !== 'string' ||
      typeof code.secret !== 'string'
    )
      throw fail()
    return code
  } catch {
    throw fail()
  }
}

export const stateDirOf = (dir: string): string => join(resolve(dir), '.cloudsync')

/**
 * The folder a command works on: `--dir` when given; otherwise the nearest folder at or
 * above the working directory that holds a device state, so `cd ~/Sync/photos &&
 * cloudsync status` works like git does.
 */
async function linkedRoot(dir: string | undefined): Promise<string> {
  if (dir !== undefined) return resolve(dir)
  let at = resolve('.')
  for (;;) {
    if (
      await stat(join(stateDirOf(at), 'device.json')).then(
        () => true,
        () => false,
      )
    )
      return at
    const parent = dirname(at)
    if (parent === at) return resolve('.')
    at = parent
  }
}

/** The device state of a linked folder, or an error that says what is wrong with it. */
export async function loadLinked(
  dir: string | undefined,
): Promise<{ state: DeviceState; stateDir: string; root: string }> {
  const root = await linkedRoot(dir)
  const info = await stat(root).catch(() => undefined)
  if (!info?.isDirectory()) throw new CliError(`${root}: no such folder`, EXIT.notFound)
  const stateDir = stateDirOf(root)
  const state = await loadDeviceState(stateDir).catch(() => {
    throw new CliError(
      `${root} is not linked: run \`cloudsync link\` first, or pass --dir`,
      EXIT.notLinked,
    )
  })
  return { state, stateDir, root }
}

/** Removes the folders `link` created (they did not exist before it), so a failed link leaves no trace. */
async function removeIfCreated(created: string | undefined): Promise<void> {
  if (created) await rm(created, { recursive: true, force: true })
}

export function registerLinkCommands(program: Command): void {
  program
    .command('link')
    .description(
      'link a folder to an account: the first device with --coordinator and --token, others with a link code',
    )
    .argument('[code]', 'link code printed by `cloudsync invite` on a linked device')
    .requiredOption('-d, --dir <path>', 'the folder to sync (created if missing)')
    .option(
      '-c, --coordinator <url>',
      'coordinator URL (first device; with a code: the instance to use, the code’s stays a fallback)',
    )
    .option('-t, --token <token>', 'link token from `cloudsync account create` (first device)')
    .option('-n, --name <name>', 'this device’s name', hostname())
    .action(
      async (
        code: string | undefined,
        opts: { dir: string; coordinator?: string; token?: string; name: string },
      ) => {
        const invited = code ? decodeLinkCode(code) : undefined
        // An explicit --coordinator wins over the code's URL, which stays a fallback.
        const url = opts.coordinator ?? invited?.url
        const token = invited?.token ?? opts.token
        if (!url || !token) {
          throw new CliError(
            'Give a link code, or --coordinator and --token for the first device',
            EXIT.usage,
          )
        }
        const stateDir = stateDirOf(opts.dir)
        if (
          await loadDeviceState(stateDir).then(
            () => true,
            () => false,
          )
        ) {
          throw new CliError(
            `${resolve(opts.dir)} is already linked (state in ${stateDir})`,
            EXIT.usage,
          )
        }
        // mkdir answers the first folder it made: that one is removed again if linking fails.
        const created = await mkdir(resolve(opts.dir), { recursive: true })
        try {
          // libp2p loads only here (and in `sync`): `put`, `get` and the rest stay light.
          const { encodeNodeKey, generateNodeKey, linkProof, peerIdOf } = await import(
            '../swarm/index.ts'
          )
          const key = await generateNodeKey()
          const linked = await linkDevice(url, {
            token,
            name: opts.name,
            peerId: peerIdOf(key),
            publicKey: Buffer.from(key.publicKey.raw).toString('base64'),
            // Proves to the coordinator that this device holds the key it asks it to certify.
            proof: await linkProof(key, token),
          })
          let secret: string
          if (linked.domain.kind === 'global') secret = linked.domain.secret
          else if (invited) secret = invited.secret
          else {
            secret = Buffer.from(createDomainSecret()).toString('base64')
            process.stderr.write(
              'Created this account’s encryption secret. It lives only on your devices: link more\n' +
                'devices with `cloudsync invite`. If every device is lost, the data cannot be decrypted.\n',
            )
          }
          await saveDeviceState(stateDir, {
            ...linked,
            coordinatorUrl: url,
            ...(invited && invited.url !== url && { coordinatorUrls: [invited.url] }),
            name: opts.name,
            secret,
            nodeKey: Buffer.from(encodeNodeKey(key)).toString('base64'),
          })
          process.stdout.write(
            `linked ${resolve(opts.dir)} as device ${linked.deviceId} (${opts.name})\n`,
          )
        } catch (err) {
          await removeIfCreated(created)
          throw err
        }
      },
    )

  program
    .command('invite')
    .description('print a one-line link code that links another device to this account')
    .option('-d, --dir <path>', 'a linked folder (default: the one holding the working directory)')
    .action(async (opts: { dir?: string }) => {
      const { state } = await loadLinked(opts.dir)
      const api = new HttpCoordinator({
        baseUrl: state.coordinatorUrl,
        credential: state.credential,
      })
      const { token, expiresAt } = await api.invite()
      process.stderr.write(
        `single use, expires ${expiresAt}; it carries the account secret: share it privately\n`,
      )
      process.stdout.write(
        `${encodeLinkCode({ url: state.coordinatorUrl, token, secret: state.secret })}\n`,
      )
    })
}
