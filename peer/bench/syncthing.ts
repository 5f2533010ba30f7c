/**
 * The side-by-side peer for bench:sync: two Syncthing instances (Debian's `syncthing`,
 * installed here when missing) on loopback, sharing one folder, timed on the same file from
 * A's rename until B holds it complete. Discovery, relays, NAT and usage reports are off; the
 * instances only dial each other on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File, type Workspace, waitFor } from './harness.ts'

const BIN = '/usr/bin/syncthing'

/** Installs Debian's syncthing when it is missing (root only); whether it is there after. */
export function ensureSyncthing(log: (l: string) => void): boolean {
  if (existsSync(BIN)) return true
  if (process.getuid?.() !== 0) {
    log('syncthing is not installed and installing it needs root: no side-by-side figure')
    return false
  }
  log('installing Debian package syncthing for the side-by-side figure')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const run = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 600_000 })
  if (run(['install', '-y', '-qq', 'syncthing']).status !== 0) {
    run(['update', '-qq'])
    run(['install', '-y', '-qq', 'syncthing'])
  }
  return existsSync(BIN)
}

interface Instance {
  home: string
  folder: string
  api: string
  key: string
  id: string
  port: number
}

async function rest(st: Instance, method: string, path: string, body?: unknown) {
  const res = await fetch(`${st.api}${path}`, {
    method,
    headers: { 'X-API-Key': st.key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`syncthing ${method} ${path}: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return text ? (JSON.parse(text) as Record<string, unknown>) : {}
}

async function instance(ws: Workspace, dir: string, name: string, guiPort: number, port: number) {
  const home = join(dir, `st-${name}`)
  const folder = join(dir, `st-${name}-folder`)
  await mkdir(folder, { recursive: true })
  const gen = spawnSync(BIN, ['generate', '--home', home, '--no-default-folder'], {
    encoding: 'utf8',
  })
  if (gen.status !== 0) throw new Error(`syncthing generate: ${gen.stderr}`)
  // Loopback only, no discovery or relays: nothing leaves the machine.
  const configPath = join(home, 'config.xml')
  const config = (await readFile(configPath, 'utf8'))
    .replace(
      /<listenAddress>[^<]*<\/listenAddress>/,
      `<listenAddress>tcp://127.0.0.1:${port}</listenAddress>`,
    )
    .replace(/<globalAnnounceEnabled>true/, '<globalAnnounceEnabled>false')
    .replace(/<localAnnounceEnabled>true/, '<localAnnounceEnabled>false')
    .replace(/<relaysEnabled>true/, '<relaysEnabled>false')
    .replace(/<natEnabled>true/, '<natEnabled>false')
    .replace(/<urAccepted>[^<]*</, '<urAccepted>-1<')
    .replace(/<autoUpgradeIntervalH>[^<]*</, '<autoUpgradeIntervalH>0<')
  await writeFile(configPath, config)
  const id = spawnSync(BIN, ['serve', '--home', home, '--device-id'], {
    encoding: 'utf8',
  }).stdout.trim()
  const key = `bench-${name}-${process.pid}`
  const api = `http://127.0.0.1:${guiPort}`
  const child = spawn(
    BIN,
    [
      'serve',
      '--home',
      home,
      '--no-browser',
      '--no-restart',
      '--gui-address',
      api,
      '--gui-apikey',
      key,
    ],
    { stdio: 'ignore', env: { ...process.env, STNOUPGRADE: '1' } },
  )
  ws.adopt(child)
  const st: Instance = { home, folder, api, key, id, port }
  await waitFor(
    `syncthing ${name} API`,
    () => rest(st, 'GET', '/rest/system/ping').catch(() => undefined),
    {
      timeoutMs: 60_000,
      everyMs: 200,
    },
  )
  return st
}

/**
 * Two Syncthing instances on loopback sharing a folder; `source` (outside both folders) is
 * moved into A's and timed until B holds it. Returns the seconds and whether B's copy matched.
 */
export async function syncthingTransfer(
  ws: Workspace,
  dir: string,
  source: string,
): Promise<number> {
  const base = 20_000 + (process.pid % 20_000)
  const a = await instance(ws, dir, 'a', base, base + 1)
  const b = await instance(ws, dir, 'b', base + 2, base + 3)
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    await rest(self, 'POST', '/rest/config/devices', {
      deviceID: other.id,
      name: other === a ? 'a' : 'b',
      addresses: [`tcp://127.0.0.1:${other.port}`],
    })
    await rest(self, 'POST', '/rest/config/folders', {
      id: 'bench',
      label: 'bench',
      path: self.folder,
      devices: [{ deviceID: self.id }, { deviceID: other.id }],
      fsWatcherEnabled: true,
      fsWatcherDelayS: 1,
      rescanIntervalS: 3600,
    })
  }
  await waitFor(
    'the Syncthing instances to connect',
    async () => {
      const c = (await rest(a, 'GET', '/rest/system/connections')) as {
        connections?: Record<string, { connected: boolean }>
      }
      return c.connections?.[b.id]?.connected ? true : undefined
    },
    { timeoutMs: 120_000, everyMs: 250 },
  )
  const size = (await stat(source)).size
  const hash = await sha256File(source)
  const target = join(b.folder, 'big.bin')
  const start = performance.now()
  await rename(source, join(a.folder, 'big.bin'))
  // A scan at once rather than the watcher's delay: this times the transfer, as ours does.
  await rest(a, 'POST', '/rest/db/scan?folder=bench')
  await waitFor(
    'Syncthing to place the file on B',
    async () => {
      const s = await stat(target).catch(() => undefined)
      return s?.size === size ? true : undefined
    },
    { timeoutMs: 900_000, everyMs: 10 },
  )
  const seconds = (performance.now() - start) / 1000
  if ((await sha256File(target)) !== hash) throw new Error("Syncthing's copy on B differs")
  return seconds
}
