import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { LinkDeviceResponse } from '../../protocol/schemas/devices.ts'

/**
 * What a linked device keeps about itself, in `<state dir>/device.json` (mode 0600): its
 * coordinator and credential, its coordinator-signed certificate, its libp2p key, and the
 * account's dedup secret, which never leaves the account's devices (docs/DESIGN.md "Keys: who knows what").
 */
export interface DeviceState extends LinkDeviceResponse {
  /** Home: the instance this device talks to while it answers. */
  coordinatorUrl: string
  /** Other instances to fail over to (the link code's, when linked through another). */
  coordinatorUrls?: string[]
  name: string
  /** The dedup domain's secret, base64 (32 bytes). */
  secret: string
  /** The libp2p private key, base64 of its protobuf encoding. */
  nodeKey: string
}

export const DEVICE_FILE = 'device.json'

export async function saveDeviceState(stateDir: string, state: DeviceState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  await chmod(stateDir, 0o700)
  const file = join(stateDir, DEVICE_FILE)
  const temp = `${file}.tmp`
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  await rename(temp, file)
}

export async function loadDeviceState(stateDir: string): Promise<DeviceState> {
  let text: string
  try {
    text = await readFile(join(stateDir, DEVICE_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CloudsyncError(
        'NOT_FOUND',
        `No linked device in ${stateDir}: run \`cloudsync link\` first`,
      )
    }
    throw err
  }
  try {
    return JSON.parse(text) as DeviceState
  } catch {
    throw new CloudsyncError(
      'INVALID_INPUT',
      `${join(stateDir, DEVICE_FILE)} is not valid JSON; re-link this folder`,
    )
  }
}

export const secretOf = (state: DeviceState): Uint8Array => Buffer.from(state.secret, 'base64')
