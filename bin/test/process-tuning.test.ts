import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const fixture = join(import.meta.dirname, 'report-tuning.ts')

interface Tuning {
  execArgv: string[]
  mmapThreshold?: string
  arenas?: string
}

/** Starts a process as the command line would for `command`; answers what it ran with. */
async function tuningFor(command: string, env: NodeJS.ProcessEnv = {}): Promise<Tuning> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MALLOC_')),
  )
  const { stdout } = await run(process.execPath, [fixture, command], {
    env: { ...clean, ...env },
    timeout: 30_000,
  })
  return JSON.parse(stdout) as Tuning
}

const HEAP_FLAGS = ['--heap-growing-percent=100', '--max-semi-space-size=4']
const CHUNK_MOVER = '--external-memory-accounted-in-global-limit'

describe('process tuning, by command', () => {
  it('gives the sync daemon its heap flags and its malloc settings', async () => {
    const tuning = await tuningFor('sync')
    expect(tuning.execArgv).toEqual(expect.arrayContaining([CHUNK_MOVER, ...HEAP_FLAGS]))
    expect(tuning.mmapThreshold).toBe(String(20 * 1024 * 1024))
    expect(tuning.arenas).toBe('2')
  })

  it('gives the coordinator the chunk mover flag only, and small mappings', async () => {
    const tuning = await tuningFor('coordinator')
    expect(tuning.execArgv).toContain(CHUNK_MOVER)
    for (const flag of HEAP_FLAGS) expect(tuning.execArgv).not.toContain(flag)
    expect(tuning.mmapThreshold).toBe(String(128 * 1024))
  })

  it('gives other commands no V8 flags', async () => {
    const tuning = await tuningFor('ls')
    for (const flag of [CHUNK_MOVER, ...HEAP_FLAGS]) expect(tuning.execArgv).not.toContain(flag)
    expect(tuning.arenas).toBe('2')
  })

  it('keeps a setting the user gave', async () => {
    const tuning = await tuningFor('sync', { MALLOC_MMAP_THRESHOLD_: '65536' })
    expect(tuning.mmapThreshold).toBe('65536')
    expect(tuning.execArgv).toEqual(expect.arrayContaining(HEAP_FLAGS))
  })
})
