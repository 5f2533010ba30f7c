/**
 * A run's report folder: results.json (every figure), report.md (tables, checks, the
 * command), and the SVG charts beside it.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunResult } from '../scenarios/types.ts'
import { bytesBySource, syncVsLoss, timeline, toSvg } from './charts.ts'

export interface ReportMeta {
  command: string
  startedAt: string
  seconds: number
  notes: string[]
}

const cell = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v}`)

export function markdown(results: RunResult[], meta: ReportMeta, charts: string[]): string {
  const lines = [
    '# cloudsync network simulation',
    '',
    `Command: \`${meta.command}\``,
    '',
    `Started ${meta.startedAt}, took ${Math.round(meta.seconds)} s.`,
    '',
    ...meta.notes.map((n) => `- ${n}`),
    '',
    '## Time until identical, bytes by source',
    '',
    '| scenario | mode | loss % | cloud commit s | device | synced s | from LAN peers MiB | from cloud MiB | retries |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of results) {
    if (r.devices.length === 0)
      lines.push(
        `| ${r.scenario} | ${r.mode} | ${r.loss_pct} | ${cell(r.cloud_commit_s)} | — | failed: ${r.error ?? '?'} | | | |`,
      )
    for (const d of r.devices)
      lines.push(
        `| ${r.scenario} | ${r.mode} | ${r.loss_pct} | ${cell(r.cloud_commit_s)} | ${d.device} | ${cell(d.synced_s)} | ${d.from_peers_mib} | ${d.from_cloud_mib} | ${d.retries} |`,
      )
  }
  lines.push(
    '',
    '## Checks',
    '',
    '| scenario | mode | loss % | check | ok | detail |',
    '|---|---|---|---|---|---|',
  )
  for (const r of results)
    for (const c of r.checks)
      lines.push(
        `| ${r.scenario} | ${r.mode} | ${r.loss_pct} | ${c.name} | ${c.ok ? 'yes' : '**no**'} | ${c.detail} |`,
      )
  lines.push('', '## Charts', '', ...charts.map((c) => `![${c}](${c})`), '')
  return lines.join('\n')
}

/** Writes the folder; returns the files written. */
export async function writeReport(
  dir: string,
  results: RunResult[],
  meta: ReportMeta,
): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const charts: [string, Promise<string>][] = []
  const complete = results.filter((r) => r.devices.length > 0)
  if (complete.length) {
    charts.push(['sync-vs-loss.svg', toSvg(syncVsLoss(complete))])
    charts.push(['bytes-by-source.svg', toSvg(bytesBySource(complete))])
  }
  // The timeline of one household run: the peer-assisted one at the highest loss, if any.
  const household = complete
    .filter((r) => r.scenario === 'household')
    .sort((a, b) =>
      a.mode === b.mode ? b.loss_pct - a.loss_pct : a.mode === 'peer-assisted' ? -1 : 1,
    )[0]
  if (household) charts.push(['timeline.svg', toSvg(timeline(household))])
  const written: string[] = []
  for (const [name, svg] of charts) {
    await writeFile(join(dir, name), await svg)
    written.push(name)
  }
  await writeFile(join(dir, 'results.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`)
  await writeFile(join(dir, 'report.md'), markdown(results, meta, written))
  return ['report.md', 'results.json', ...written]
}
