import { describe, expect, it } from 'vitest'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { IGNORE_FILE, IGNORE_FILE_MAX_BYTES, IgnoreRules } from '../ignore-rules.ts'

const text = (s: string) => new TextEncoder().encode(s)

describe('ignore rules file', () => {
  it('is read again only when it changes, and never ignores itself', async () => {
    const fs = new MemoryFileSystem()
    const rules = new IgnoreRules(fs)
    expect(await rules.refresh()).toBe(true)
    expect(await rules.refresh()).toBe(false)
    fs.writeFile(IGNORE_FILE, text('*\n'))
    expect(await rules.refresh()).toBe(true)
    expect(rules.ignores('anything.txt')).toBe(true)
    expect(rules.ignores(IGNORE_FILE)).toBe(false)
    fs.deleteFile(IGNORE_FILE)
    expect(await rules.refresh()).toBe(true)
    expect(rules.ignores('anything.txt')).toBe(false)
  })

  it('keeps the defaults and says why when the file is too large or not UTF-8', async () => {
    const fs = new MemoryFileSystem()
    const rules = new IgnoreRules(fs)
    fs.writeFile(IGNORE_FILE, new Uint8Array(IGNORE_FILE_MAX_BYTES + 1).fill(0x2a))
    await rules.refresh()
    expect(rules.error).toMatch(/more than 262144; only the default rules apply/)
    expect(rules.ignores('x.swp')).toBe(true)
    expect(rules.ignores('x.txt')).toBe(false)
    fs.writeFile(IGNORE_FILE, new Uint8Array([0x2a, 0xff, 0x0a]))
    await rules.refresh()
    expect(rules.error).toMatch(/^\.cloudsyncignore: /)
    fs.writeFile(IGNORE_FILE, text('*.txt\n'))
    await rules.refresh()
    expect(rules.error).toBeUndefined()
    expect(rules.ignores('x.txt')).toBe(true)
  })
})
