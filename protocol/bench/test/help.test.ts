/**
 * Every `bench:*` script in package.json answers `--help` with its usage and options and
 * exits 0, without running anything (`bench:coordinator -- --help` once failed with
 * ERR_PARSE_ARGS_UNKNOWN_OPTION).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const scripts: Record<string, string> = JSON.parse(
  readFileSync(join(ROOT, 'package.json'), 'utf8'),
).scripts
const benches = Object.entries(scripts).filter(([name]) => name.startsWith('bench:'))

it('finds the benchmarks in package.json', () => {
  expect(benches.map(([name]) => name)).toContain('bench:coordinator')
})

it.each(benches)('%s --help prints its usage and options and exits 0', (_name, command) => {
  // `node path/to/bench.ts`: run the same file with the Node running the tests.
  const [, script, ...rest] = command.split(' ')
  const run = spawnSync(process.execPath, [script!, ...rest, '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  })
  expect(run.status, run.stderr).toBe(0)
  expect(run.stdout).toMatch(/npm run bench:/)
  expect(run.stdout).toMatch(/Options:\n/)
  expect(run.stdout).toContain('--json')
})
