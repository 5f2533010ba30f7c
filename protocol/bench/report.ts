import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

type OptionSpec = { type: 'string' | 'boolean'; default?: string | boolean }

/** Flags every benchmark accepts: positional inputs, `--json` and `--help`. */
export function benchArgs(extra: Record<string, { type: 'string' }> = {}) {
  const options = { json: { type: 'boolean', default: false }, ...extra } as const
  exitOnHelp(options)
  const { values, positionals } = parseArgs({ options, allowPositionals: true })
  return { json: values.json as boolean, values, positionals }
}

/**
 * With `--help` or `-h` among the arguments: prints the running script's leading doc
 * comment (its usage) and its options with their defaults, and exits 0.
 */
export function exitOnHelp(options: Record<string, OptionSpec>): void {
  const args = process.argv.slice(2)
  if (!args.includes('--help') && !args.includes('-h')) return
  const script = process.argv[1] ?? ''
  const doc = /^\/\*\*([\s\S]*?)\*\//m.exec(readFileSync(script, 'utf8'))?.[1] ?? ''
  const text = doc
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim()
  const lines = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? ' VALUE' : ''
    const fallback = o.default !== undefined ? ` (default ${o.default})` : ''
    return `  --${name}${value}${fallback}`
  })
  process.stdout.write(`${text}\n\nOptions:\n${lines.join('\n')}\n  --help\n`)
  process.exit(0)
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
