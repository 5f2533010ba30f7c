#!/usr/bin/env node
// Runs the TypeScript entry on the project's pinned Node 24 (type stripping), even when
// started by an older system Node: it then re-executes itself under node_modules' Node.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const major = Number(process.versions.node.split('.')[0])
if (major >= 24) {
  await import('./cloudsync.ts')
} else {
  const require = createRequire(import.meta.url)
  const node24 = require.resolve('node/bin/node')
  const run = spawnSync(
    node24,
    [new URL('./cloudsync.ts', import.meta.url).pathname, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  )
  process.exit(run.status ?? 1)
}
