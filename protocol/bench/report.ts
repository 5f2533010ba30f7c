import { parseArgs } from 'node:util'

/** Flags every benchmark accepts: positional inputs and `--json`. */
export function benchArgs(extra: Record<string, { type: 'string' }> = {}) {
  const { values, positionals } = parseArgs({
    options: { json: { type: 'boolean', default: false }, ...extra },
    allowPositionals: true,
  })
  return { json: values.json as boolean, values, positionals }
}

/** Prints aligned rows for people; with --json, one JSON object as the last line. */
export function report(rows: [string, string][], figures: object, json: boolean): void {
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
  if (json) console.log(JSON.stringify(figures))
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

export const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)
export const fmt = (n: number, digits = 0) => n.toFixed(digits)
