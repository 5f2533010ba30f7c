/** A session resumed after a coordinator restart lists only what is missing. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MemoryBlobStore } from '../blobs/index.ts'
import { migrate } from '../store/migrate.ts'
import { createTestSchema, postgresReachable } from '../store/test/pg-harness.ts'
import { asDevice, makeFile, newAccount, startApp, type TestApp } from './harness.ts'

/** Init a 3-chunk upload, PUT chunk 1 only, stop; a new app answers the session. */
async function resumeAcrossRestart(first: () => Promise<TestApp>, second: () => Promise<TestApp>) {
  const file = makeFile([10, 20, 30])
  const one = await first()
  const [device] = await newAccount(one.app)
  const init = (
    await device!.call({
      method: 'POST',
      url: '/files/upload/init',
      payload: { path: 'big.iso', ...file.manifest, baseVersion: null },
    })
  ).json()
  const u = init.uploads[1]
  const put = await fetch(u.url, {
    method: 'PUT',
    headers: u.headers,
    body: file.bytes.get(file.manifest.chunks[1]!.id),
  })
  expect(put.status).toBe(200)
  await one.close()

  const two = await second()
  try {
    const again = asDevice(two.app, device!, device!.name)
    const status = (
      await again.call({ method: 'GET', url: `/files/upload/${init.sessionId}` })
    ).json()
    expect(status).toMatchObject({ state: 'open', missing: [0, 2] })
    for (const up of status.uploads) {
      const id = file.manifest.chunks[up.index]!.id
      expect(
        (await fetch(up.url, { method: 'PUT', headers: up.headers, body: file.bytes.get(id) }))
          .status,
      ).toBe(200)
    }
    const done = await again.call({
      method: 'POST',
      url: `/files/upload/${init.sessionId}/complete`,
    })
    expect(done.json()).toMatchObject({ path: 'big.iso', version: 1, state: 'committed' })
  } finally {
    await two.close()
  }
}

const postgres = await postgresReachable()

describe('resume after restart', () => {
  it('on PGlite and local disk in one data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloudsync-coord-'))
    const start = () => startApp({ listen: true, config: { dataDir } })
    try {
      await resumeAcrossRestart(start, start)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it.runIf(postgres)('on one Postgres schema', async () => {
    const schema = await createTestSchema()
    const blobs = new MemoryBlobStore()
    const db1 = schema.open(2)
    await migrate(db1)
    const db2 = schema.open(2)
    try {
      await resumeAcrossRestart(
        () => startApp({ listen: true, deps: { db: db1, blobs } }),
        () => startApp({ listen: true, deps: { db: db2, blobs } }),
      )
    } finally {
      await db1.close()
      await db2.close()
      await schema.drop()
    }
  })
})
