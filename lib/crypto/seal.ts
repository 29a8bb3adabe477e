/**
 * Sealed user passwords (README "Differences from HTCondor", deviation 14): AES-256-GCM under a host key, a
 * fresh 96-bit nonce per write, and `user@domain` as additional authenticated data, so a sealed
 * file copied to another user's name does not open. Format: `CSCSEAL1` ‖ nonce (12) ‖ ciphertext ‖
 * tag (16).
 */

const MAGIC = new TextEncoder().encode("CSCSEAL1");
const NONCE_BYTES = 12;

/** Length of a host key in bytes. */
export const HOST_KEY_BYTES = 32;

async function importKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== HOST_KEY_BYTES) throw new Error("host key has the wrong length");
  return await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals `secret` for `account` (user@domain) under `hostKey`. */
export async function seal(
  secret: Uint8Array,
  account: string,
  hostKey: Uint8Array,
): Promise<Uint8Array> {
  const key = await importKey(hostKey);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const additionalData = new TextEncoder().encode(account);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData },
      key,
      secret as BufferSource,
    ),
  );
  const out = new Uint8Array(MAGIC.length + NONCE_BYTES + sealed.length);
  out.set(MAGIC);
  out.set(nonce, MAGIC.length);
  out.set(sealed, MAGIC.length + NONCE_BYTES);
  return out;
}

/** Opens a sealed file; returns null when it is malformed, tampered with, or not for `account`. */
export async function unseal(
  file: Uint8Array,
  account: string,
  hostKey: Uint8Array,
): Promise<Uint8Array | null> {
  if (file.length < MAGIC.length + NONCE_BYTES + 16) return null;
  if (!MAGIC.every((b, i) => file[i] === b)) return null;
  const key = await importKey(hostKey);
  const nonce = file.slice(MAGIC.length, MAGIC.length + NONCE_BYTES);
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: nonce as BufferSource,
        additionalData: new TextEncoder().encode(account),
      },
      key,
      file.subarray(MAGIC.length + NONCE_BYTES) as BufferSource,
    );
    return new Uint8Array(plain);
  } catch {
    return null;
  }
}
