// Run as a child process by node-fs.test.ts: commits `doc` once, then starts writing a
// new version of it through a temp file forever, saying so, until it is killed.
import { NodeFileSystem } from '../node-fs.ts'

const root = process.argv[2]!
const fs = await NodeFileSystem.open({ root })
const first = await fs.createTemp(5)
await first.write(new TextEncoder().encode('first'), 0)
await first.commit('doc', 'any')

const block = new Uint8Array(64 * 1024).fill(0x61)
const tmp = await fs.createTemp(0)
for (let position = 0; ; position += block.length) {
  await tmp.write(block, position)
  if (position === 4 * block.length) process.stdout.write('writing\n')
}
