/**
 * CI's lab scenario: the household with 5% loss on every link and a few MiB, real processes in
 * the lab's namespaces (needs root), then its report folder. Kept small so CI stays fast.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { writeReport } from '../../report/write.ts'
import { household } from '../household.ts'
import { runScenario } from '../runner.ts'

it('household with 5% loss: every device identical, LAN devices fed by peers, a full report', async () => {
  const lines: string[] = []
  const results = await runScenario(household, [{ loss: 5, mode: 'peer-assisted' }], {
    seed: 7,
    workload: { bigMib: 4, smallFiles: 10 },
    log: (l) => lines.push(l),
  })
  expect(results.length).toBe(1)
  const run = results[0]!
  expect(run.error, lines.join('\n')).toBeUndefined()
  expect(run.checks.filter((c) => !c.ok)).toEqual([])
  expect(run.devices.map((d) => d.device).sort()).toEqual(['desktop', 'phone', 'server'])
  for (const d of run.devices) expect(d.synced_s).toBeGreaterThan(0)
  // The phone has no route to the LAN: all of its bytes come from the cloud.
  const phone = run.devices.find((d) => d.device === 'phone')!
  expect(phone.from_peers_mib).toBe(0)
  expect(phone.from_cloud_mib).toBeGreaterThanOrEqual(4)
  // Between them, the LAN devices got bytes from a peer: the swarm works through the lab.
  const lan = run.devices.filter((d) => d.device !== 'phone')
  expect(lan.reduce((a, d) => a + d.from_peers_mib, 0)).toBeGreaterThan(0)
  expect(run.timeline.length).toBeGreaterThan(0)

  const dir = await mkdtemp('/tmp/cloudsync-sim-report-test-')
  try {
    const files = await writeReport(dir, results, {
      command: 'test',
      startedAt: '',
      seconds: 0,
      notes: [],
    })
    expect((await readdir(dir)).sort()).toEqual([...files].sort())
    expect(files).toEqual(
      expect.arrayContaining([
        'report.md',
        'results.json',
        'timeline.svg',
        'sync-vs-loss.svg',
        'bytes-by-source.svg',
      ]),
    )
    for (const svg of files.filter((f) => f.endsWith('.svg')))
      expect(await readFile(join(dir, svg), 'utf8')).toMatch(/^<svg[^>]*>.*<text/s)
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(
      '| household | peer-assisted | 5 |',
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}, 900_000)
