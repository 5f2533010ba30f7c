/** Sizes, limits and protocol identifiers shared by the coordinator and the peers. */

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

/**
 * FastCDC bounds (docs/DESIGN.md "Chunks, dedup, encryption"). Large chunks keep a 50 GB file at ~12,000 chunks,
 * so manifests stay small and per-chunk request overhead stays negligible.
 */
export const DEFAULT_CHUNKING = Object.freeze({
  minSize: 1 * MiB,
  avgSize: 4 * MiB,
  maxSize: 16 * MiB,
})

/** Smallest and largest chunk bounds a configuration may choose. */
export const CHUNK_SIZE_FLOOR = 64
export const CHUNK_SIZE_CEILING = 64 * MiB

/** 50 GB files must fit with room to spare (issue: default 64 GiB). */
export const MAX_FILE_SIZE = 64 * GiB
/** 64 GiB at the 1 MiB minimum chunk size; a manifest with more chunks is refused. */
export const MAX_CHUNKS_PER_FILE = 65_536
/** Bytes of a relative path in UTF-8 (most file systems stop at 4096). */
export const MAX_PATH_BYTES = 4096
/** One path segment (file or folder name); ext4, APFS and NTFS stop at 255. */
export const MAX_NAME_BYTES = 255

/** AES-256-GCM authentication tag appended to every chunk's ciphertext. */
export const GCM_TAG_BYTES = 16
export const GCM_NONCE_BYTES = 12

/** Hex SHA-256: chunk ids, plaintext hashes and sealed hashes are all this shape. */
export const SHA256_HEX = /^[0-9a-f]{64}$/

/** libp2p protocol ids. Bump the version when the wire format changes. */
export const CHUNK_PROTOCOL = '/cloudsync/chunk/1.0.0'
/** Most chunk ids one peer-to-peer request may ask for. */
export const MAX_CHUNKS_PER_REQUEST = 64
