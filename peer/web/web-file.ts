import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Where the device's web page listens, in `<state dir>/web.json` (mode 0600): the port,
 * kept so a bookmark still works after a restart, and the token every request must carry.
 */
export interface WebAddress {
  port: number
  token: string
}

export const WEB_FILE = 'web.json'

export async function loadWebAddress(stateDir: string): Promise<WebAddress | undefined> {
  const text = await readFile(join(stateDir, WEB_FILE), 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  try {
    const saved = JSON.parse(text) as Partial<WebAddress>
    if (Number.isInteger(saved.port) && typeof saved.token === 'string' && saved.token.length >= 16)
      return { port: saved.port!, token: saved.token }
  } catch {}
  return undefined
}

export async function saveWebAddress(stateDir: string, address: WebAddress): Promise<void> {
  const file = join(stateDir, WEB_FILE)
  await writeFile(`${file}.tmp`, `${JSON.stringify(address)}\n`, { mode: 0o600 })
  await rename(`${file}.tmp`, file)
}

export const newWebToken = (): string => randomBytes(24).toString('base64url')

/** The page's address with its token, as `cloudsync open` prints it. */
export const webUrl = ({ port, token }: WebAddress): string =>
  `http://127.0.0.1:${port}/?token=${token}`
