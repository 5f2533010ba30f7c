-- A file where a folder is, or a folder where a file is (issue 14). Devices
-- cannot hold both `a` as a file and `a/b`, so the account's tree must not either.

-- The live file that clashes with `p_path`: one at an ancestor of it (`a` for `a/b/c`), or
-- one under it (`a/b/c/d`); `p_except` is left out (a move's own file: a commit that
-- removes the other side is not a clash). Paths are COLLATE "C", so `p/` <= x < `p0` is
-- exactly the paths that start with `p/`, read from the (account_id, path) index.
CREATE FUNCTION path_clash(p_account uuid, p_path text, p_except uuid)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT f.path FROM files f
  WHERE f.account_id = p_account AND NOT f.deleted AND f.id IS DISTINCT FROM p_except
    AND (f.path = ANY (ARRAY(
           SELECT array_to_string(parts[1:n], '/')
           FROM (SELECT string_to_array(p_path, '/') AS parts) p,
             generate_series(1, cardinality(p.parts) - 1) AS n))
         OR (f.path >= p_path || '/' AND f.path < p_path || '0'))
  ORDER BY f.path LIMIT 1
$$;

-- commit_upload of 003, checked first: under the account's lock, an open session whose
-- path clashes answers {status: 'clash', path, clashesWith} and writes nothing.
ALTER FUNCTION commit_upload(uuid, uuid, uuid, timestamptz, text[], bigint[], uuid, jsonb)
  RENAME TO commit_upload_unchecked;

CREATE FUNCTION commit_upload(
  p_account uuid,
  p_device uuid,
  p_session uuid,
  p_now timestamptz,
  p_found_ids text[],
  p_found_sizes bigint[],
  p_new_file uuid,
  p_copy jsonb
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s_path text;
  clash text;
BEGIN
  PERFORM 1 FROM accounts WHERE id = p_account FOR NO KEY UPDATE;
  SELECT path INTO s_path FROM upload_sessions
  WHERE id = p_session AND account_id = p_account AND device_id = p_device
    AND state = 'open' AND result IS NULL;
  IF FOUND THEN
    clash := path_clash(p_account, s_path, NULL);
    IF clash IS NOT NULL THEN
      RETURN jsonb_build_object('status', 'clash', 'path', s_path, 'clashesWith', clash);
    END IF;
  END IF;
  RETURN commit_upload_unchecked(p_account, p_device, p_session, p_now, p_found_ids,
    p_found_sizes, p_new_file, p_copy);
END
$$;
