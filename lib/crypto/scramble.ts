/**
 * HTCondor's pool-password file format (docs/upstream.md "Pool password"): each byte XORed with the
 * repeating key `DE AD BE EF`, no padding, no trailing NUL. Pure functions, no I/O.
 */

const KEY = [0xde, 0xad, 0xbe, 0xef] as const;

/** XORs `bytes` with the repeating `DE AD BE EF` key; the same call scrambles and unscrambles. */
export function scramblePoolPassword(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] ^ KEY[i & 3];
  return out;
}

/**
 * Reads a pool-password file's bytes the way HTCondor's PASSWORD method does: truncate the
 * scrambled data at its first zero byte (old files were zero-padded to 256 bytes), then unscramble.
 */
export function unscramblePoolPassword(file: Uint8Array): Uint8Array {
  const end = file.indexOf(0);
  return scramblePoolPassword(end < 0 ? file : file.subarray(0, end));
}

/** Truncates a password at its first NUL byte, as upstream's C strings do (docs/upstream.md "The -f
 * branch"). */
export function truncateAtNul(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return end < 0 ? bytes : bytes.subarray(0, end);
}
