import { CloudsyncError } from '../../protocol/errors.ts'
import type { Db } from './db.ts'

/**
 * The live file that would clash with a file at `path`: one at an ancestor of it, or one
 * under it (the SQL function path_clash, migration 006). `except` is a file the same
 * commit moves away, so it does not count.
 */
export async function findPathClash(
  db: Db,
  accountId: string,
  path: string,
  except: string | null = null,
): Promise<string | undefined> {
  const { rows } = await db.query<{ clash: string | null }>(
    'SELECT path_clash($1, $2, $3) AS clash',
    [accountId, path, except],
  )
  return rows[0]?.clash ?? undefined
}

export function pathClashError(path: string, clashesWith: string): CloudsyncError {
  const [file, folder] =
    clashesWith.length < path.length ? [clashesWith, path] : [path, clashesWith]
  return new CloudsyncError(
    'PATH_CLASH',
    `${path} clashes with ${clashesWith}: ${file} is a file and would have to be a folder for ${folder}; remove one first`,
    { path, clashesWith },
  )
}

/** PATH_CLASH (409) when a file at `path` would clash with a live file. */
export async function assertNoPathClash(
  db: Db,
  accountId: string,
  path: string,
  except: string | null = null,
): Promise<void> {
  const clash = await findPathClash(db, accountId, path, except)
  if (clash !== undefined) throw pathClashError(path, clash)
}
