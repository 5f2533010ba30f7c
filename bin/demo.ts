/**
 * `cloudsync demo` (`npm start`): one command from a fresh clone to two syncing folders. On
 * the embedded defaults it runs a coordinator, creates an account, links two folders as two
 * devices and runs both daemons, each as its own process of this binary, exactly as a
 * person would by hand. A second run reuses what the first made.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { loadWebAddress, webUrl } from '../peer/web/web-file.ts'

const BIN = join(import.meta.dirname, 'cloudsync.ts')

interface DemoLayout {
  root: string
  coordinatorData: string
  folders: [string, string]
  logs: string
  settings: string
}

function layoutOf(dir: string): DemoLayout {
  const root = resolve(dir)
  return {
    root,
    coordinatorData: join(root, 'coordinator'),
    folders: [join(root, 'device-a'), join(root, 'device-b')],
    logs: join(root, 'logs'),
    settings: join(root, 'demo.json'),
  }
}

/** The port is kept: the linked devices' state names the coordinator's URL. */
async function demoPort(settings: string): Promise<{ port: number; reused: boolean }> {
  const saved = await readFile(settings, 'utf8').then(
    (text) => (JSON.parse(text) as { port?: number }).port,
    () => undefined,
  )
  if (saved) return { port: saved, reused: true }
  const probe = createServer()
  const port = await new Promise<number>((done, fail) => {
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
  await writeFile(settings, `${JSON.stringify({ port })}\n`)
  return { port, reused: false }
}

/** Runs one command of this binary to its end; its output is answered, a failure thrown. */
function runOnce(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('error', fail)
    child.on('close', (code) =>
      code === 0 ? done(out.trim()) : fail(new Error(`cloudsync ${args[0]} failed: ${err.trim()}`)),
    )
  })
}

/** Starts a long-running command, its output to a log file; resolves once `ready` is printed. */
function startLogged(args: string[], logFile: string, ready: RegExp): Promise<ChildProcess> {
  const log = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  return new Promise((done, fail) => {
    let seen = ''
    child.stdout.on('data', (d) => {
      seen += d
      if (ready.test(seen)) done(child)
    })
    child.once('exit', (code) =>
      fail(new Error(`cloudsync ${args[0]} exited (${code}) before it was ready: see ${logFile}`)),
    )
  })
}

const isLinked = (folder: string) =>
  stat(join(folder, '.cloudsync', 'device.json')).then(
    () => true,
    () => false,
  )

async function linkDevices(layout: DemoLayout, url: string): Promise<void> {
  const [a, b] = layout.folders
  if (!(await isLinked(a))) {
    const token = await runOnce([
      'account',
      'create',
      '--coordinator',
      url,
      '--data-dir',
      layout.coordinatorData,
    ])
    await runOnce(['link', '--coordinator', url, '--token', token, '--dir', a, '--name', 'demo-a'])
  }
  if (!(await isLinked(b))) {
    const code = await runOnce(['invite', '--dir', a])
    await runOnce(['link', code, '--dir', b, '--name', 'demo-b'])
  }
}

/** Stops children in reverse order of start, each with SIGINT, as Ctrl-C would. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const exited = new Promise((done) => child.once('exit', done))
    child.kill('SIGINT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
}

export async function runDemo(dir: string): Promise<void> {
  const layout = layoutOf(dir)
  await mkdir(layout.logs, { recursive: true })
  const { port, reused } = await demoPort(layout.settings)
  const children: ChildProcess[] = []
  const stopped = new Promise<void>((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done())
  })
  try {
    const url = `http://127.0.0.1:${port}`
    children.push(
      await startLogged(
        ['coordinator', '--port', String(port), '--data-dir', layout.coordinatorData],
        join(layout.logs, 'coordinator.log'),
        /listening on/,
      ),
    )
    await linkDevices(layout, url)
    for (const [i, folder] of layout.folders.entries()) {
      children.push(
        await startLogged(
          ['sync', '--dir', folder, '--listen', '/ip4/127.0.0.1/tcp/0'],
          join(layout.logs, `device-${'ab'[i]}.log`),
          /syncing /,
        ),
      )
    }
    const [a, b] = layout.folders
    // Each daemon wrote its page's address before it said it was syncing.
    const page = await loadWebAddress(join(b!, '.cloudsync'))
    process.stdout.write(
      [
        `cloudsync demo ${reused ? '(reusing ' : '('}${layout.root})`,
        `  coordinator  ${url}`,
        `  folder A     ${a}`,
        `  folder B     ${b}`,
        `  status       cloudsync status --dir ${b}`,
        ...(page ? [`  web page     ${webUrl(page)}  (folder B; cloudsync open --dir ${b})`] : []),
        `  logs         ${layout.logs}`,
        'ready: save a file in one folder and watch it appear in the other; Ctrl-C stops all',
        '',
      ].join('\n'),
    )
    const died = new Promise<void>((_, fail) => {
      for (const child of children)
        child.once('exit', (code) => fail(new Error(`a demo process exited (${code}): see logs`)))
    })
    // Children exit on purpose once stopping: only a death before that is a failure.
    died.catch(() => {})
    await Promise.race([stopped, died])
  } finally {
    await stopAll(children)
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a coordinator and two linked, syncing folders on this machine (npm start)')
    .option('-d, --dir <path>', 'where the demo keeps its folders', './demo')
    .action(async (opts: { dir: string }) => {
      await runDemo(opts.dir)
      process.stdout.write('demo stopped\n')
    })
}
