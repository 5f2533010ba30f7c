/**
 * The report's charts as Vega-Lite specs, rendered to SVG in Node by Vega (no browser, no
 * canvas): time to sync against loss per mode, bytes by source per device, and the timeline
 * of one household run.
 */
import * as vega from 'vega'
import type { TopLevelSpec } from 'vega-lite'
import { compile } from 'vega-lite'
import type { RunResult } from '../scenarios/types.ts'

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return svg
}

/** The slowest device's time to an identical folder, per scenario, mode and loss. */
export function syncVsLoss(results: RunResult[]): TopLevelSpec {
  const values = results.flatMap((r) => {
    const times = r.devices.map((d) => d.synced_s)
    if (times.length === 0 || times.some((t) => t === null)) return []
    return [
      {
        scenario: r.scenario,
        mode: r.mode,
        loss: r.loss_pct,
        seconds: Math.max(...(times as number[])),
      },
    ]
  })
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Time until every device is identical, against loss on every link',
    data: { values },
    facet: { column: { field: 'scenario', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'loss', type: 'quantitative', title: 'loss per link and direction (%)' },
        y: { field: 'seconds', type: 'quantitative', title: 'slowest device synced (s)' },
        color: { field: 'mode', type: 'nominal', title: 'mode' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  }
}

/** MiB each device got from LAN peers and from the cloud, per mode and loss. */
export function bytesBySource(results: RunResult[]): TopLevelSpec {
  const values = results.flatMap((r) =>
    r.devices.flatMap((d) => [
      {
        run: `${r.scenario} ${r.loss_pct}%`,
        mode: r.mode,
        device: d.device,
        source: 'LAN peers',
        mib: d.from_peers_mib,
      },
      {
        run: `${r.scenario} ${r.loss_pct}%`,
        mode: r.mode,
        device: d.device,
        source: 'cloud',
        mib: d.from_cloud_mib,
      },
    ]),
  )
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Bytes by source per device',
    data: { values },
    facet: {
      row: { field: 'run', type: 'nominal', title: null },
      column: { field: 'mode', type: 'nominal', title: null },
    },
    spec: {
      width: 220,
      height: 110,
      mark: 'bar',
      encoding: {
        x: { field: 'device', type: 'nominal', title: null },
        y: { field: 'mib', type: 'quantitative', title: 'MiB', stack: 'zero' },
        color: { field: 'source', type: 'nominal', scale: { domain: ['LAN peers', 'cloud'] } },
      },
    },
  }
}

/** Per-device progress over time in one run (MiB of the saved files complete). */
export function timeline(run: RunResult): TopLevelSpec {
  const values = run.timeline.map((p) => ({ ...p }))
  // Each device starts at zero at the save.
  for (const d of new Set(run.timeline.map((p) => p.device)))
    values.unshift({ t_s: 0, device: d, mib: 0 })
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${run.scenario}, ${run.mode}, loss ${run.loss_pct}%: progress per device`,
    data: { values },
    width: 520,
    height: 240,
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 't_s', type: 'quantitative', title: 'seconds since the save' },
      y: { field: 'mib', type: 'quantitative', title: 'MiB complete in the folder' },
      color: { field: 'device', type: 'nominal' },
    },
  }
}
