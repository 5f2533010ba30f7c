// Run as a child process by direct-writes.test.ts: two concurrent writes into a temp file
// larger than the disk under `root`. The failure must reach the catch below, not kill the
// process as an unhandled rejection.
import { NodeFileSystem } from '../node-fs.ts'

const root = process.argv[2]!
const MiB = 1024 * 1024
const fs = await NodeFileSystem.open({ root })
const temp = await fs.createTemp(32 * MiB)
try {
  await Promise.all([
    temp.write(new Uint8Array(12 * MiB).fill(1), 0),
    temp.write(new Uint8Array(12 * MiB).fill(2), 12 * MiB),
  ])
  process.stdout.write('written\n')
} catch (err) {
  process.stdout.write(`caught ${(err as NodeJS.ErrnoException).code}\n`)
}
await temp.discard()
process.stdout.write('discarded\n')
