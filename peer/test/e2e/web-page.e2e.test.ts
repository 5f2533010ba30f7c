/**
 * The device's web page in Debian's Chromium (headless, driven by playwright-core): two
 * real linked devices; the page of B shows a file saved in A's folder, pauses (a change
 * of A then waits on B) and resumes, and sets a rate limit the daemon takes.
 * WEB_PAGE_SCREENSHOT=docs/web-page.png keeps a screenshot there (README.md's picture).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Coordinator, type Device, E2E, REPO, readStatus, waitFor } from './harness.ts'

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium)
  process.stderr.write(`web page test skipped: no ${CHROMIUM} (.ci/run installs it)\n`)

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
let browser: Browser
let page: Page
let url: string

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

beforeAll(async () => {
  if (!haveChromium && !process.env.CI) return
  e2e = await E2E.create('web')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  await Promise.all([a, b].map((d) => e2e.startDaemon(d)))
  url = (await b.daemon!.waitForOutput(/web page: (\S+)/))[1]!
  // Root in a container: Chromium's sandbox needs user namespaces it may not have.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
}, 300_000)

afterAll(async () => {
  await browser?.close()
  await e2e?.cleanup()
})

const folderState = () => page.getByTestId('folder-state')

// In CI (.ci/run installs Chromium) a missing browser fails the test rather than skipping it.
describe.skipIf(!haveChromium && !process.env.CI)('the web page in Chromium', () => {
  test('answers 403 without the token, and `cloudsync open` prints its address', async () => {
    const bare = new URL(url)
    bare.search = ''
    expect((await fetch(bare)).status).toBe(403)
    expect((await fetch(`${bare}?token=wrong-token-of-the-right-length`)).status).toBe(403)
    expect(
      (await fetch(`${bare}api/state?token=${new URL(url).searchParams.get('token')}`)).status,
    ).toBe(200)
    expect(await e2e.cliOk(['open', '--dir', b.dir])).toBe(url)
  })

  test('shows the folder up to date, the other device, and a file saved on A', async () => {
    await page.goto(url)
    await expect.poll(() => folderState().textContent(), { timeout: 30_000 }).toBe('up to date')
    await expect
      .poll(() => page.getByTestId('devices').textContent(), { timeout: 30_000 })
      .toContain('aonline')
    await writeFile(join(a.dir, 'from-a.txt'), 'saved in the folder of A\n')
    await expect
      .poll(() => page.getByTestId('recent').textContent(), { timeout: 30_000 })
      .toContain('from-a.txt')
    expect(await readFile(join(b.dir, 'from-a.txt'), 'utf8')).toBe('saved in the folder of A\n')
  })

  test('pause holds back a change of A until resume', async () => {
    await page.getByTestId('pause').click()
    await expect.poll(() => folderState().textContent()).toBe('paused')
    expect((await readStatus(b))?.paused).toBe(true)
    await writeFile(join(a.dir, 'while-paused.txt'), 'written while B is paused\n')
    // B has heard of the change (its head moved past its cursor) and still not applied it.
    const heard = await waitFor(
      async () => {
        const s = await readStatus(b)
        return s && (s.behind ?? 0) > 0 && s
      },
      { timeoutMs: 30_000, what: 'B to hear of the change' },
    )
    expect(heard.paused).toBe(true)
    expect(await exists(join(b.dir, 'while-paused.txt'))).toBe(false)
    expect(await folderState().textContent()).toBe('paused')
    await page.screenshot({ path: join(e2e.root, 'paused.png') })

    await page.getByTestId('pause').click()
    await expect.poll(() => folderState().textContent(), { timeout: 30_000 }).toBe('up to date')
    expect(await readFile(join(b.dir, 'while-paused.txt'), 'utf8')).toBe(
      'written while B is paused\n',
    )
    expect((await readStatus(b))?.paused).toBe(false)
  })

  test('sets a rate limit that the daemon keeps', async () => {
    await page.locator('input[name=lanDown]').fill('5M')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(async () => (await readStatus(b))?.limits?.lanDown, { timeout: 10_000 })
      .toBe(5 * 1024 * 1024)
    const saved = JSON.parse(await readFile(join(b.stateDir, 'settings.json'), 'utf8'))
    expect(saved.limits.lanDown).toBe(5 * 1024 * 1024)
    await page.locator('input[name=lanDown]').fill('fast')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('form .warn').textContent()).toContain('not a rate')
    expect((await readStatus(b))?.limits?.lanDown).toBe(5 * 1024 * 1024)
  })

  test('shows bytes from LAN peers and a path that cannot be synced, with the reason', async () => {
    await page.reload()
    await writeFile(join(a.dir, 'photo.raw'), randomBytes(6 * 1024 * 1024))
    await expect
      .poll(() => page.getByTestId('transfers').textContent(), { timeout: 30_000 })
      .toMatch(/from LAN peers.*MiB/)
    await symlink('/etc/hostname', join(b.dir, 'link-out'))
    await expect
      .poll(() => page.getByTestId('problems').textContent(), { timeout: 30_000 })
      .toMatch(/link-out.*not synced.*link/i)
    await expect.poll(() => folderState().textContent()).toBe('up to date')
    const shot = join(e2e.root, 'web-page.png')
    await page.screenshot({ path: shot, fullPage: true })
    const keep = process.env.WEB_PAGE_SCREENSHOT
    if (keep) await copyFile(shot, join(REPO, keep))
  })
})
