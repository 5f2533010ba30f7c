-- Completing an upload in one round trip (store/commit.ts). Each statement of a PL/pgSQL
-- function takes a fresh snapshot, so the file read below, made after the account's lock,
-- sees the latest commit, as a statement of its own would; the whole call is one
-- transaction when it runs alone, and joins the caller's when there is one.
--
-- Answers {status, ...}: 'committed' with the result; 'done' with the result stored by an
-- earlier completion (nothing written); 'not_found', 'forbidden', 'gone' (nothing
-- written); 'missing' with the manifest indexes still lacking (only the found chunks
-- registered); 'conflict' when the upload would displace a version it did not see and no
-- conflict copy was given (only the found chunks registered): the caller preserves the copy
-- and calls again in one transaction.
CREATE FUNCTION commit_upload(
  p_account uuid,
  p_device uuid,
  p_session uuid,
  p_now timestamptz,
  -- Chunks of the session whose bytes the caller found in the blob store.
  p_found_ids text[],
  p_found_sizes bigint[],
  -- The id a new file gets.
  p_new_file uuid,
  -- The conflict copy the caller preserved in this transaction, for the result; or null.
  p_copy jsonb
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s upload_sessions;
  own_domain boolean;
  missing int[];
  ids text[];
  locked int;
  cur record;
  target uuid;
  ver int;
  change_kind text;
  new_seq bigint;
  answer jsonb;
BEGIN
  -- The account's lock first, as every commit takes it; then the session's.
  PERFORM 1 FROM accounts WHERE id = p_account FOR NO KEY UPDATE;
  SELECT * INTO s FROM upload_sessions WHERE id = p_session AND account_id = p_account FOR UPDATE;
  IF NOT FOUND THEN RETURN '{"status": "not_found"}'; END IF;
  IF s.device_id <> p_device THEN RETURN '{"status": "forbidden"}'; END IF;
  IF s.result IS NOT NULL THEN RETURN jsonb_build_object('status', 'done', 'result', s.result); END IF;
  IF s.state <> 'open' OR s.expires_at <= p_now THEN RETURN '{"status": "gone"}'; END IF;
  own_domain := s.domain = 'account:' || p_account::text;

  IF cardinality(p_found_ids) > 0 THEN
    WITH c AS (INSERT INTO chunks (domain, id, cipher_size, refcount, zero_since, created_at)
      SELECT s.domain, t.id, t.size, 0, p_now, p_now
      FROM unnest(p_found_ids, p_found_sizes) AS t(id, size)
      ON CONFLICT (domain, id) DO NOTHING)
    INSERT INTO chunk_access (domain, chunk_id, account_id)
    SELECT s.domain, t.id, p_account FROM unnest(p_found_ids) AS t(id) WHERE NOT own_domain
    ON CONFLICT DO NOTHING;
  END IF;

  -- A scalar subquery per chunk, not NOT EXISTS (see missingChunks in sessions.ts).
  missing := ARRAY(SELECT sc.idx FROM session_chunks sc
    WHERE sc.session_id = p_session AND (
      SELECT true FROM chunks c WHERE c.domain = s.domain AND c.id = sc.chunk_id AND (
        own_domain OR EXISTS (SELECT 1 FROM chunk_access a
          WHERE a.domain = c.domain AND a.chunk_id = c.id AND a.account_id = p_account))
    ) IS NULL
    ORDER BY sc.idx);
  IF cardinality(missing) > 0 THEN
    RETURN jsonb_build_object('status', 'missing', 'missing', to_jsonb(missing));
  END IF;

  SELECT f.id, f.version, v.size, v.hash INTO cur
  FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.version
  WHERE f.account_id = p_account AND f.path = s.path AND NOT f.deleted;
  IF FOUND THEN
    -- Identical content is not worth a copy: nothing would be lost.
    IF p_copy IS NULL
      AND NOT coalesce(s.base_version = cur.version
        AND (s.base_file_id IS NULL OR s.base_file_id = cur.id), false)
      AND (cur.hash <> s.manifest->>'hash' OR cur.size <> (s.manifest->>'size')::bigint) THEN
      RETURN '{"status": "conflict"}';
    END IF;
    target := cur.id;
    ver := cur.version + 1;
    change_kind := 'modified';
  ELSIF s.base_version IS NOT NULL THEN
    -- The deleted file the upload was editing comes back under its id (an edit beats a
    -- concurrent delete); a file moved elsewhere and still live is not it.
    IF s.base_file_id IS NOT NULL THEN
      SELECT f.id, f.version INTO cur FROM files f
      WHERE f.id = s.base_file_id AND f.account_id = p_account AND f.deleted;
    ELSE
      SELECT f.id, f.version INTO cur FROM files f
      WHERE f.account_id = p_account AND f.path = s.path AND f.deleted
      ORDER BY f.updated_at DESC LIMIT 1;
    END IF;
    IF FOUND THEN
      target := cur.id;
      ver := cur.version + 1;
      -- Devices that applied the delete have no file there: to them it is created again.
      change_kind := 'created';
    END IF;
  END IF;

  -- Chunk rows locked in id order, so commits sharing chunks of a global domain cannot
  -- deadlock; a chunk collected since the check above fails the commit before any write.
  ids := ARRAY(SELECT DISTINCT chunk_id FROM session_chunks WHERE session_id = p_session);
  SELECT count(*) INTO locked FROM (SELECT c.id FROM chunks c
    WHERE c.domain = s.domain AND c.id = ANY(ids) ORDER BY c.id FOR UPDATE) l;
  IF locked <> cardinality(ids) THEN
    RETURN jsonb_build_object('status', 'collected', 'missingChunkIds', to_jsonb(ARRAY(
      SELECT t.id FROM unnest(ids) AS t(id)
      WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.domain = s.domain AND c.id = t.id))));
  END IF;

  IF target IS NULL THEN
    target := p_new_file;
    ver := 1;
    change_kind := 'created';
    INSERT INTO files (id, account_id, path, version, updated_at)
    VALUES (target, p_account, s.path, ver, p_now);
  ELSE
    UPDATE files SET path = s.path, version = ver, deleted = false, updated_at = p_now
    WHERE id = target;
  END IF;
  INSERT INTO file_versions (file_id, version, domain, size, hash, manifest, device_id, created_at)
  VALUES (target, ver, s.domain, (s.manifest->>'size')::bigint, s.manifest->>'hash', s.manifest,
    p_device, p_now);
  UPDATE chunks SET refcount = refcount + 1, zero_since = NULL
  WHERE domain = s.domain AND id = ANY(ids);
  UPDATE accounts SET last_seq = last_seq + 1 WHERE id = p_account RETURNING last_seq INTO new_seq;
  INSERT INTO changes (account_id, seq, kind, file_id, path, version, device_id, committed_at)
  VALUES (p_account, new_seq, change_kind, target, s.path, ver, p_device, p_now);
  answer := jsonb_build_object('fileId', target, 'path', s.path, 'version', ver,
    'kind', change_kind, 'seq', new_seq, 'conflictCopy', p_copy);
  UPDATE upload_sessions SET state = 'committed', result = answer WHERE id = p_session;
  RETURN jsonb_build_object('status', 'committed', 'result', answer);
END
$$;
