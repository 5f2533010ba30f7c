import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../coordinator/app.ts'
import { testConfig } from '../../../coordinator/config.ts'
import { runGc } from '../../../coordinator/services/gc.ts'
import { EXIT } from '../output.ts'

const run = promisify(execFile)
const bin = join(import.meta.dirname, '../../../bin/cloudsync.ts')
const operatorToken = 'cli-test-operator-token-0123456789'

/** Runs the real command line; never throws, answers its exit code and output. */
async function cloudsync(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return cloudsyncIn(process.cwd(), ...args)
}

async function cloudsyncIn(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      timeout: 60_000,
      cwd,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let dir: string
let url: string
let close: () => Promise<void>
let app: Awaited<ReturnType<typeof buildApp>>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudsync-cli-'))
  app = await buildApp(testConfig({ operatorToken }))
  url = await app.listen({ host: '127.0.0.1', port: 0 })
  close = () => app.close()
})
afterAll(async () => {
  await close?.()
  await rm(dir, { recursive: true, force: true })
})

// Each case runs the real binary several times: on a loaded machine that is slow, not wrong.
describe('cloudsync command line', { timeout: 240_000 }, () => {
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
    // The folder link made for it is gone again, not left behind empty.
    await expect(stat(folder)).rejects.toThrow()
  })

  it('prints its version', async () => {
    const result = await cloudsync('--version')
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('refuses to start a coordinator on a port in use, before creating its data dir', async () => {
    const dataDir = join(dir, 'second-coordinator')
    const result = await cloudsync(
      'coordinator',
      '--port',
      new URL(url).port,
      '--data-dir',
      dataDir,
    )
    expect(result.code).toBe(EXIT.failure)
    expect(result.stderr).toContain('already in use')
    expect(result.stderr).not.toMatch(/\n\s+at /)
    await expect(stat(dataDir)).rejects.toThrow()
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

  it('puts: refuses to replace other content without --overwrite, keeps identical content as is', async () => {
    const a = join(dir, 'a')
    const file = join(dir, 'notes.txt')
    await writeFile(file, 'first')
    expect((await cloudsync('put', file, 'notes.txt', '--dir', a)).stdout).toContain('version 1')
    const again = await cloudsync('put', file, 'notes.txt', '--dir', a)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('unchanged, version 1')
    await writeFile(file, 'other')
    const refused = await cloudsync('put', file, 'notes.txt', '--dir', a)
    expect(refused.code).toBe(EXIT.conflict)
    expect(refused.stderr).toContain('--overwrite')
    await writeFile(file, 'a longer other content')
    expect((await cloudsync('put', file, 'notes.txt', '--dir', a)).code).toBe(EXIT.conflict)
    const replaced = await cloudsync('put', file, 'notes.txt', '--dir', a, '--overwrite')
    expect(replaced.code).toBe(0)
    expect(replaced.stdout).toContain('version 2')
    const folder = await cloudsync('put', dir, '--dir', a)
    expect(folder.code).toBe(EXIT.usage)
    expect(folder.stderr).toContain('is a folder')
  })

  it('shows a path’s history and restores the version an overwrite replaced', async () => {
    const a = join(dir, 'a')
    const history = await cloudsync('history', 'notes.txt', '--dir', a)
    expect(history.code).toBe(0)
    expect(
      history.stdout
        .trim()
        .split('\n')
        .map((l) => l.match(/v\d+/)?.[0]),
    ).toEqual(['v2', 'v1'])
    const restored = await cloudsync('restore', 'notes.txt', '--dir', a)
    expect(restored.code, restored.stderr).toBe(0)
    expect(restored.stdout).toContain('as version 3')
    const copy = join(dir, 'notes-restored.txt')
    expect((await cloudsync('get', 'notes.txt', copy, '--dir', a)).code).toBe(0)
    expect(await readFile(copy, 'utf8')).toBe('first')
    const before = await cloudsync(
      'restore',
      'notes.txt',
      '--at',
      '2000-01-01T00:00:00Z',
      '--dir',
      a,
    )
    expect(before.code).toBe(EXIT.notFound)
    expect((await cloudsync('restore', 'notes.txt', '--at', 'soon', '--dir', a)).code).toBe(
      EXIT.usage,
    )
  })

  it('shows until when each replaced version is restorable, and which are no longer kept', async () => {
    const a = join(dir, 'a')
    const notes = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => l.match(/\[.*\]$/)?.[0])
    const days = (n: number) => new Date(Date.now() + n * 86_400_000)
    const kept = await cloudsync('history', 'notes.txt', '--dir', a)
    // Version 3 (the restore) is live; the two it and version 2 replaced are kept 30 days.
    expect(notes(kept.stdout)).toEqual([
      undefined,
      expect.stringMatching(/^\[restorable until /),
      expect.stringMatching(/^\[restorable until /),
    ])
    await runGc(app, days(31))
    await runGc(app, days(32))
    const pruned = await cloudsync('history', 'notes.txt', '--dir', a)
    expect(notes(pruned.stdout)).toEqual([undefined, '[no longer kept]', '[no longer kept]'])
    const gone = await cloudsync('restore', 'notes.txt', '--dir', a)
    expect(gone.code).toBe(EXIT.notFound)
    // The live version's chunks outlive the pruned versions that named them too.
    const copy = join(dir, 'notes-after-gc.txt')
    expect((await cloudsync('get', 'notes.txt', copy, '--dir', a)).code).toBe(0)
    expect(await readFile(copy, 'utf8')).toBe('first')
  })

  it('gets into a folder, and leaves no partial file when it cannot', async () => {
    const into = join(dir, 'downloads')
    await mkdir(into)
    const got = await cloudsync('get', 'docs/report.bin', `${into}/`, '--dir', join(dir, 'b'))
    expect(got.code).toBe(0)
    expect((await stat(join(into, 'report.bin'))).size).toBe(3_000_000)
    const missing = await cloudsync(
      'get',
      'docs/report.bin',
      join(dir, 'nope/'),
      '--dir',
      join(dir, 'b'),
    )
    expect(missing.code).toBe(EXIT.notFound)
    expect(await readdir(dir)).not.toContain('nope.cloudsync-part')
    expect((await readdir(into)).filter((n) => n.endsWith('.cloudsync-part'))).toEqual([])
  })

  it('finds the linked folder from a folder inside it when --dir is not given', async () => {
    const inside = join(dir, 'b', 'some', 'where')
    await mkdir(inside, { recursive: true })
    const listed = await cloudsyncIn(inside, 'ls')
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain('docs/report.bin')
  })

  it('exits 0 when its reader closes the pipe early (ls | head)', async () => {
    const child = spawn(process.execPath, [bin, 'ls', '--dir', join(dir, 'b')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const code = await new Promise((done) => child.on('close', done))
    expect(stderr).not.toContain('EPIPE')
    expect(code).toBe(0)
  })
})
