import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const bin = join(import.meta.dirname, '..', 'cloudsync.ts')
const dir = await mkdtemp(join(tmpdir(), 'cloudsync-demo-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Starts `cloudsync demo` and resolves with it and its first lines once it says ready. */
function startDemo() {
  const child = spawn(process.execPath, [bin, 'demo', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  child.stderr.on('data', (d) => {
    err += d
  })
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  const ready = new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`demo not ready in 240 s: ${out}${err}`)),
      240_000,
    )
    child.stdout.on('data', () => {
      if (out.includes('ready:')) {
        clearTimeout(timer)
        done(out)
      }
    })
    child.on('exit', (code) => fail(new Error(`demo exited (${code}): ${out}${err}`)))
  })
  return { child, ready, exited, output: () => out }
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => done(!socket.destroy()))
    socket.once('error', () => done(false))
  })

describe('cloudsync demo (npm start)', () => {
  it('runs two syncing folders, stops cleanly on Ctrl-C, and reuses them the next time', async () => {
    const first = startDemo()
    const said = await first.ready
    const port = Number(said.match(/127\.0\.0\.1:(\d+)/)?.[1])
    const a = join(dir, 'device-a')
    const b = join(dir, 'device-b')
    expect(said).toContain(a)
    expect(said).toContain(`cloudsync status --dir ${b}`)
    await writeFile(join(a, 'hello.txt'), 'hello from A')
    await eventually(
      async () => (await readFile(join(b, 'hello.txt'), 'utf8')) === 'hello from A',
      'hello.txt in folder B',
    )
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('demo stopped')
    expect(await portOpen(port)).toBe(false)

    const second = startDemo()
    expect(await second.ready).toContain('reusing')
    expect(await readFile(join(b, 'hello.txt'), 'utf8')).toBe('hello from A')
    await writeFile(join(b, 'back.txt'), 'and back')
    await eventually(
      async () => (await readFile(join(a, 'back.txt'), 'utf8')) === 'and back',
      'back.txt in folder A',
    )
    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
  }, 600_000)
})
