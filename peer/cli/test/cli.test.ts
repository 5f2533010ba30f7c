import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../coordinator/app.ts'
import { testConfig } from '../../../coordinator/config.ts'
import { EXIT } from '../output.ts'

const run = promisify(execFile)
const bin = join(import.meta.dirname, '../../../bin/cloudsync.ts')
const operatorToken = 'cli-test-operator-token-0123456789'

/** Runs the real command line; never throws, answers its exit code and output. */
async function cloudsync(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let dir: string
let url: string
let close: () => Promise<void>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudsync-cli-'))
  const app = await buildApp(testConfig({ operatorToken }))
  url = await app.listen({ host: '127.0.0.1', port: 0 })
  close = () => app.close()
})
afterAll(async () => {
  await close?.()
  await rm(dir, { recursive: true, force: true })
})

describe('cloudsync command line', () => {
  it('answers --help on every command with exit 0', async () => {
    for (const command of [
      [],
      ['link'],
      ['sync'],
      ['put'],
      ['get'],
      ['account', 'create'],
      ['coordinator'],
    ]) {
      const result = await cloudsync(...command, '--help')
      expect(result.code, command.join(' ')).toBe(0)
      expect(result.stdout).toContain('Usage: cloudsync')
    }
  })

  it('refuses an unknown command and bad usage with exit 2', async () => {
    expect((await cloudsync('frobnicate')).code).toBe(EXIT.usage)
    const noToken = await cloudsync('link', '--dir', join(dir, 'x'))
    expect(noToken.code).toBe(EXIT.usage)
    expect(noToken.stderr).toContain('--coordinator and --token')
    const badCode = await cloudsync('link', 'not-a-code', '--dir', join(dir, 'x'))
    expect(badCode.stderr).toContain('not a link code')
  })

  it('says the coordinator is unreachable with exit 5', async () => {
    const result = await cloudsync(
      'link',
      '--coordinator',
      'http://127.0.0.1:9',
      '--token',
      'a'.repeat(32),
      '--dir',
      join(dir, 'x'),
    )
    expect(result.code).toBe(EXIT.unreachable)
    expect(result.stderr).toContain('is the coordinator running')
  })

  it('refuses a wrong link token with exit 4 and links nothing', async () => {
    const folder = join(dir, 'wrong-token')
    const result = await cloudsync(
      'link',
      '--coordinator',
      url,
      '--token',
      'b'.repeat(43),
      '--dir',
      folder,
    )
    expect(result.code).toBe(EXIT.unauthorized)
    expect(result.stderr.length).toBeGreaterThan(10)
    await expect(stat(join(folder, '.cloudsync', 'device.json'))).rejects.toThrow()
  })

  it('says a folder is missing (exit 6) or not linked (exit 3)', async () => {
    const missing = await cloudsync('sync', '--dir', join(dir, 'nope'))
    expect(missing.code).toBe(EXIT.notFound)
    expect(missing.stderr).toContain('no such folder')
    await mkdir(join(dir, 'plain'))
    for (const command of [['sync'], ['status'], ['invite'], ['ls']]) {
      const result = await cloudsync(...command, '--dir', join(dir, 'plain'))
      expect(result.code, command.join(' ')).toBe(EXIT.notLinked)
      expect(result.stderr).toContain('not linked')
    }
  })

  it('creates an account, links two devices, and moves a file with put and get', async () => {
    const token = await cloudsync(
      'account',
      'create',
      '--coordinator',
      url,
      '--operator-token',
      operatorToken,
    )
    expect(token.code).toBe(0)
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    expect(
      (await cloudsync('link', '--coordinator', url, '--token', token.stdout.trim(), '--dir', a))
        .code,
    ).toBe(0)
    const code = await cloudsync('invite', '--dir', a)
    expect(code.stdout).toMatch(/^cloudsync1:/)
    expect((await cloudsync('link', code.stdout.trim(), '--dir', b)).code).toBe(0)
    // The device state is private to its owner.
    expect((await stat(join(a, '.cloudsync', 'device.json'))).mode & 0o077).toBe(0)

    const original = join(dir, 'report.bin')
    const bytes = randomBytes(3_000_000)
    await writeFile(original, bytes)
    const put = await cloudsync('put', original, 'docs/report.bin', '--dir', a)
    expect(put.code).toBe(0)
    expect(put.stdout).toContain('docs/report.bin: version 1')
    expect((await cloudsync('ls', '--dir', b)).stdout).toContain('docs/report.bin')
    const copy = join(dir, 'copy.bin')
    const get = await cloudsync('get', 'docs/report.bin', copy, '--dir', b)
    expect(get.code).toBe(0)
    expect((await readFile(copy)).equals(bytes)).toBe(true)
    expect((await cloudsync('get', 'no/such.file', join(dir, 'nothing'), '--dir', b)).code).toBe(
      EXIT.notFound,
    )
  })
})
