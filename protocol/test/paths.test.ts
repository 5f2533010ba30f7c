import { describe, expect, it } from 'vitest'
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from '../constants.ts'
import { isCloudsyncError } from '../errors.ts'
import {
  conflictCopyPath,
  isValidPath,
  RemotePath,
  splitExtension,
  validatePath,
} from '../paths.ts'
import { parser } from '../validate.ts'

const remotePath = parser(RemotePath, 'path')

const bad: [string, unknown, RegExp][] = [
  ['empty', '', /empty/],
  ['not a string', 42, /not a string/],
  ['absolute', '/etc/passwd', /absolute/],
  ['drive with backslash', 'C:\\x', /backslash|absolute/],
  ['drive with slash', 'C:/x', /drive letter/],
  ['bare drive', 'd:', /drive letter/],
  ['dot-dot segment', 'a/../b', /"\.\." segment/],
  ['leading dot-dot', '../b', /"\.\." segment/],
  ['only dot-dot', '..', /"\.\." segment/],
  ['dot segment', 'a/./b', /"\." segment/],
  ['only dot', '.', /"\." segment/],
  ['empty segment', 'a//b', /empty segment/],
  ['trailing slash', 'a/b/', /ends with a slash/],
  ['NUL', 'a\u0000b', /control/],
  ['newline', 'a\nb', /control/],
  ['DEL', 'a\u007fb', /control/],
  ['C1 control', 'a\u0085b', /control/],
  ['backslash', 'a\\b', /backslash/],
  ['lone surrogate', 'a\ud800b', /surrogate/],
  ['name too long', `a/${'x'.repeat(MAX_NAME_BYTES + 1)}`, /name is 256 bytes/],
  ['name too long in bytes', 'é'.repeat(128), /name is 256 bytes/],
  [
    'path too long',
    Array(MAX_PATH_BYTES / 4 + 1)
      .fill('abc')
      .join('/'),
    /limit is 4096/,
  ],
]

const good: [string, string][] = [
  ['a.txt', 'a.txt'],
  ['docs/report 2024.pdf', 'docs/report 2024.pdf'],
  ['.bashrc', '.bashrc'],
  ['a/..b/c..', 'a/..b/c..'],
  ['a/.../b', 'a/.../b'],
  ['notes:1.txt', 'notes:1.txt'],
  ['e\u0301t\u00e9/caf\u0065\u0301', '\u00e9t\u00e9/caf\u00e9'],
  ['x'.repeat(MAX_NAME_BYTES), 'x'.repeat(MAX_NAME_BYTES)],
  ['日本語/ファイル.txt', '日本語/ファイル.txt'],
]

describe('validatePath', () => {
  it.each(bad)('rejects %s with INVALID_PATH', (_, input, message) => {
    let caught: unknown
    try {
      validatePath(input)
    } catch (err) {
      caught = err
    }
    expect(isCloudsyncError(caught, 'INVALID_PATH')).toBe(true)
    expect((caught as Error).message).toMatch(message)
    expect(isValidPath(input)).toBe(false)
  })

  it.each(good)('accepts %j as %j', (input, normalised) => {
    expect(validatePath(input)).toBe(normalised)
    expect(isValidPath(input)).toBe(true)
  })

  it('accepts a path of exactly MAX_PATH_BYTES', () => {
    const path = `${Array(MAX_PATH_BYTES / 4)
      .fill('abc')
      .join('/')}x`
    expect(new TextEncoder().encode(path).length).toBe(MAX_PATH_BYTES)
    expect(validatePath(path)).toBe(path)
  })
})

describe('RemotePath schema', () => {
  it.each(bad.filter(([name]) => !/long|surrogate|string/.test(name)))('rejects %s', (_, input) => {
    expect(remotePath.check(input)).toBe(false)
  })

  it.each(good)('accepts %j', (input) => {
    expect(remotePath.check(input)).toBe(true)
  })
})

describe('conflictCopyPath', () => {
  const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5))

  it.each([
    ['docs/report.pdf', 'docs/report (conflicted copy from laptop 2024-01-02 030405).pdf'],
    ['.bashrc', '.bashrc (conflicted copy from laptop 2024-01-02 030405)'],
    ['README', 'README (conflicted copy from laptop 2024-01-02 030405)'],
    ['a/.config.json', 'a/.config (conflicted copy from laptop 2024-01-02 030405).json'],
    ['backup.TAR.GZ', 'backup (conflicted copy from laptop 2024-01-02 030405).TAR.GZ'],
    ['v1.0 final', 'v1.0 final (conflicted copy from laptop 2024-01-02 030405)'],
    ['file.', 'file. (conflicted copy from laptop 2024-01-02 030405)'],
  ])('%s -> %s', (path, copy) => {
    expect(conflictCopyPath(path, 'laptop', at)).toBe(copy)
  })

  it('uses UTC and numbers later attempts', () => {
    const late = new Date('2024-12-31T23:59:58-05:00')
    expect(conflictCopyPath('a.txt', 'pc', late, 3)).toBe(
      'a (conflicted copy from pc 2025-01-01 045958 3).txt',
    )
  })

  it('keeps separators and control characters of the device name out of the path', () => {
    const copy = conflictCopyPath('a/b.txt', 'evil/../\u0000name\\x', at)
    expect(copy.startsWith('a/b (conflicted copy from evil-..- name-x ')).toBe(true)
    expect(copy.split('/')).toHaveLength(2)
  })

  it('shortens the stem so the copy stays within the name limit', () => {
    const long = `${'n'.repeat(MAX_NAME_BYTES - 4)}.txt`
    const copy = conflictCopyPath(`dir/${long}`, 'laptop', at)
    const name = copy.slice('dir/'.length)
    expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(MAX_NAME_BYTES)
    expect(name.endsWith('(conflicted copy from laptop 2024-01-02 030405).txt')).toBe(true)
  })

  it('rejects an invalid original path', () => {
    expect(() => conflictCopyPath('../x', 'laptop', at)).toThrow(/segment/)
  })
})

describe('splitExtension', () => {
  it.each([
    ['a.txt', ['a', '.txt']],
    ['.env', ['.env', '']],
    ['.env.local', ['.env', '.local']],
    ['archive.tar.gz', ['archive', '.tar.gz']],
    ['.tar.gz', ['.tar', '.gz']],
    ['noext', ['noext', '']],
  ])('%s', (name, parts) => {
    expect(splitExtension(name)).toEqual(parts)
  })
})
