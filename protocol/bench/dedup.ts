/**
 * npm run bench:dedup [--json]
 * How many chunks (and bytes) each small edit to a 256 MiB file changes, for our
 * content-defined chunks and for fixed 4 MiB blocks side by side.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Chunker } from '../chunking/chunker.ts'
import { deriveGearTable } from '../chunking/gear.ts'
import { chunkStream } from '../chunking/stream.ts'
import { KiB, MiB } from '../constants.ts'
import { createDomainSecret } from '../crypto/keys.ts'
import { benchArgs, fmt, report } from './report.ts'

const { json } = benchArgs()
const original = randomBytes(256 * MiB)
const at = 100 * MiB
const edits: [string, (b: Buffer) => Buffer][] = [
  [
    'insert 1 byte at 100 MiB',
    (b) => Buffer.concat([b.subarray(0, at), Buffer.of(0x5a), b.subarray(at)]),
  ],
  ['delete 1 KiB at 100 MiB', (b) => Buffer.concat([b.subarray(0, at), b.subarray(at + KiB)])],
  [
    'overwrite 1 byte at 100 MiB',
    (b) => Buffer.concat([b.subarray(0, at), Buffer.of(b[at]! ^ 0xff), b.subarray(at + 1)]),
  ],
  ['append 1 MiB', (b) => Buffer.concat([b, randomBytes(MiB)])],
  ['prepend 1 byte', (b) => Buffer.concat([Buffer.of(0x5a), b])],
]

const chunker = new Chunker(deriveGearTable(createDomainSecret()))

async function cdcChunks(bytes: Uint8Array): Promise<Map<string, number>> {
  const chunks = new Map<string, number>()
  for await (const c of chunkStream([bytes], chunker)) chunks.set(digest(c), c.length)
  return chunks
}

function fixedChunks(bytes: Uint8Array): Map<string, number> {
  const chunks = new Map<string, number>()
  for (let i = 0; i < bytes.length; i += 4 * MiB) {
    const c = bytes.subarray(i, i + 4 * MiB)
    chunks.set(digest(c), c.length)
  }
  return chunks
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** Chunks of the edited file the store does not have yet: what an upload must send. */
function changed(before: Map<string, number>, after: Map<string, number>) {
  let chunks = 0
  let bytes = 0
  for (const [id, size] of after) {
    if (!before.has(id)) {
      chunks++
      bytes += size
    }
  }
  return { chunks, bytes }
}

const cdcBefore = await cdcChunks(original)
const fixedBefore = fixedChunks(original)
const results = []
for (const [edit, apply] of edits) {
  const edited = apply(original)
  const cdc = changed(cdcBefore, await cdcChunks(edited))
  const fixed = changed(fixedBefore, fixedChunks(edited))
  results.push({
    edit,
    cdc_chunks_changed: cdc.chunks,
    cdc_bytes_changed: cdc.bytes,
    fixed_chunks_changed: fixed.chunks,
    fixed_bytes_changed: fixed.bytes,
  })
}

const mib = (n: number) => `${fmt(n / MiB, 1)} MiB`
report(
  [
    [
      '256 MiB random file',
      `${cdcBefore.size} content-defined chunks (avg ${mib((256 * MiB) / cdcBefore.size)}), ${fixedBefore.size} fixed 4 MiB blocks`,
    ],
    ...results.map((r): [string, string] => [
      r.edit,
      `ours: ${r.cdc_chunks_changed} chunks, ${mib(r.cdc_bytes_changed)}   fixed: ${r.fixed_chunks_changed} chunks, ${mib(r.fixed_bytes_changed)}`,
    ]),
    ['bar', 'every edit changes <= 3 chunks and <= 32 MiB with ours'],
  ],
  { edits: results },
  json,
)
