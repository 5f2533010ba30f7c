import Type from 'typebox'
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './constants.ts'
import { CloudsyncError } from './errors.ts'

/**
 * Remote paths: relative, `/`-separated, UTF-8 NFC. They are file names the coordinator
 * arbitrates and every device writes under its sync folder, so anything that could escape
 * that folder or mean different things on different systems is refused here.
 */

// Control characters: C0, DEL and C1. They break terminals, logs and some file systems.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
// `C:` at the start is a drive on Windows (`C:x` is drive-relative), so it escapes the root.
const DRIVE = /^[A-Za-z]:/

const encoder = new TextEncoder()
const utf8Bytes = (s: string): number => encoder.encode(s).length

/** Returns the path in NFC, or throws INVALID_PATH naming the problem. */
export function validatePath(input: unknown): string {
  const fail = (problem: string): never => {
    throw new CloudsyncError('INVALID_PATH', `Invalid path ${JSON.stringify(input)}: ${problem}`)
  }
  if (typeof input !== 'string') return fail('not a string')
  if (input.length === 0) return fail('empty')
  if (!input.isWellFormed()) return fail('contains an unpaired UTF-16 surrogate')
  const path = input.normalize('NFC')
  if (CONTROL.test(path)) fail('contains a NUL or control character')
  if (path.includes('\\')) fail('contains a backslash (use / as the separator)')
  if (path.startsWith('/')) fail('absolute (starts with /)')
  if (DRIVE.test(path)) fail('absolute (starts with a drive letter)')
  if (path.endsWith('/')) fail('ends with a slash')
  const bytes = utf8Bytes(path)
  if (bytes > MAX_PATH_BYTES) fail(`${bytes} bytes long, the limit is ${MAX_PATH_BYTES}`)
  for (const segment of path.split('/')) {
    if (segment === '') fail('has an empty segment (//)')
    if (segment === '.' || segment === '..') fail(`has a "${segment}" segment`)
    const n = utf8Bytes(segment)
    if (n > MAX_NAME_BYTES) fail(`a name is ${n} bytes long, the limit is ${MAX_NAME_BYTES}`)
  }
  return path
}

export function isValidPath(input: unknown): input is string {
  try {
    validatePath(input)
    return true
  } catch {
    return false
  }
}

/**
 * A coarse schema check for paths inside messages: it rejects the obvious cases (absolute,
 * backslash, control characters, `.`/`..`/empty segments, trailing slash). Byte lengths
 * and NFC need `validatePath()`, which handlers call on every path they act on.
 */
const SEGMENT = String.raw`(?!\.\.?(?:/|$))[^/\\\u0000-\u001f\u007f-\u009f]+`
export const REMOTE_PATH_PATTERN = `^(?![A-Za-z]:)${SEGMENT}(?:/${SEGMENT})*$`
export const RemotePath = Type.String({
  minLength: 1,
  maxLength: MAX_PATH_BYTES,
  pattern: REMOTE_PATH_PATTERN,
})

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** Extensions that read as one: `backup.tar.gz` keeps `.tar.gz` at the end. */
const COMPOUND_EXTENSIONS = ['.tar.gz', '.tar.bz2', '.tar.xz', '.tar.zst']

/**
 * Splits a file name into stem and extension. A leading dot is not an extension
 * (`.bashrc`), nor is a trailing dot, nor a "suffix" with spaces or over 16 characters.
 */
export function splitExtension(name: string): [stem: string, ext: string] {
  const lower = name.toLowerCase()
  for (const ext of COMPOUND_EXTENSIONS) {
    if (lower.endsWith(ext) && name.length > ext.length) {
      return [name.slice(0, -ext.length), name.slice(-ext.length)]
    }
  }
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return [name, '']
  const ext = name.slice(dot)
  if (ext.length < 2 || ext.length > 16 || /\s/.test(ext)) return [name, '']
  return [name.slice(0, dot), ext]
}

/** Device names are free text; in a file name they lose separators and control characters. */
function deviceLabel(deviceName: string): string {
  const clean = deviceName
    .normalize('NFC')
    .replace(new RegExp(CONTROL.source, 'g'), ' ')
    .replace(/[/\\]/g, '-')
    .replace(/\s+/g, ' ')
    .trim()
  return truncateBytes(clean, 48) || 'unknown device'
}

/** Cuts at a code point boundary so the result fits in `max` UTF-8 bytes. */
function truncateBytes(s: string, max: number): string {
  let out = ''
  let bytes = 0
  for (const ch of s) {
    bytes += utf8Bytes(ch)
    if (bytes > max) break
    out += ch
  }
  return out
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** `YYYY-MM-DD HHMMSS` in UTC. */
export function conflictTimestamp(at: Date): string {
  const date = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`
  return `${date} ${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`
}

/**
 * The path of the conflict copy that keeps a displaced version (docs/DESIGN.md "Conflicts"):
 * `dir/name (conflicted copy from DEVICE YYYY-MM-DD HHMMSS).ext`. `attempt` > 1 appends a
 * number, for when that name is taken. The stem is shortened if the result would exceed
 * the name or path limits, so a valid path always gives a valid copy path.
 */
export function conflictCopyPath(path: string, deviceName: string, at: Date, attempt = 1): string {
  const valid = validatePath(path)
  const parent = parentOf(valid)
  const [stem, ext] = splitExtension(baseName(valid))
  const suffix = attempt > 1 ? ` ${attempt}` : ''
  const label = ` (conflicted copy from ${deviceLabel(deviceName)} ${conflictTimestamp(at)}${suffix})`
  const fixed = utf8Bytes(label) + utf8Bytes(ext)
  const parentBytes = parent ? utf8Bytes(parent) + 1 : 0
  const budget = Math.min(MAX_NAME_BYTES - fixed, MAX_PATH_BYTES - parentBytes - fixed)
  if (budget < 1) {
    throw new CloudsyncError('INVALID_PATH', `No room for a conflict copy name under ${parent}`)
  }
  const name = `${truncateBytes(stem, budget)}${label}${ext}`
  return validatePath(parent ? `${parent}/${name}` : name)
}

/**
 * An empty folder travels as a zero-byte entry of this name inside it, so that every
 * device keeps the folders the others keep (docs/DESIGN.md "Empty folders"). Devices never
 * write it to disk: it stands for the folder while the folder is empty, and a real file of
 * this name is refused.
 */
export const FOLDER_MARKER = '.cloudsync-folder'

export function isFolderMarker(path: string): boolean {
  return baseName(path) === FOLDER_MARKER && path !== FOLDER_MARKER
}

/** The marker path of the folder `folder` (not the root). */
export function folderMarkerOf(folder: string): string {
  return `${folder}/${FOLDER_MARKER}`
}

/** A path as a person reads it: an empty folder's marker is the folder, with a slash. */
export function shownPath(path: string): string {
  return isFolderMarker(path) ? `${parentOf(path)}/` : path
}
