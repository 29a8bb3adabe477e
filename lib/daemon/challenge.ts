/**
 * Proving who the caller is on the Unix socket (README "The daemon", after HTCondor's FS method):
 * the daemon names a fresh, single-use, short-lived path in a sticky, world-writable directory;
 * the client creates it exclusively and sets its modification time to a value derived from the
 * challenge's nonce; the daemon `lstat`s it (it never opens it) and requires a regular file with
 * one link, not writable by group or others, with exactly that time, and takes its owner as the
 * caller. Deno has no SO_PEERCRED, and FFI would escape the permission sandbox, so the kernel's
 * file ownership is the proof.
 *
 * Why it holds: the name is 128 random bits sent only to the requester, so nobody can make it
 * beforehand; in a sticky directory nobody can rename another user's file onto it; a hard link
 * gives two links and a symlink is not a regular file; and a file of someone else's moved there
 * from elsewhere on the same file system (a rename needs only write access to the directories)
 * does not carry the time, 40 bits drawn from the nonce (256 random bits sent only to the
 * requester), and cannot be given it: only a file's owner (and root) may set an arbitrary time.
 * The daemon only `lstat`s the path, so a link swapped in makes it open nothing. Each name is good
 * once, for CREDD_CHALLENGE_LIFETIME seconds, and only with its nonce, which is checked before the
 * challenge is used up (knowing a pending id from the file names cancels nothing).
 *
 * Permissions: --allow-read and --allow-write on the challenge directory.
 */

import { constantTimeEqual } from "../crypto/equal.ts";
import { quote, StoreError } from "../errors.ts";
import { base64UrlDecode, base64UrlEncode } from "../jwt.ts";
import { type Challenge, ProtocolError } from "./protocol.ts";

/** The prefix of challenge file names. */
export const CHALLENGE_PREFIX = ".csc-challenge-";

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Checks that `dir` can hold challenges: a root-owned directory, sticky and writable by everyone
 * (like /tmp). Throws StoreError("insecure") otherwise.
 */
export function checkChallengeDirectory(dir: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    throw new StoreError(
      "config",
      `the challenge directory ${quote(dir)} cannot be used: ${(error as Error).message}`,
      {
        remedy: "set CREDD_CHALLENGE_DIRECTORY to a sticky, world-writable directory such as /tmp",
      },
    );
  }
  const mode = info.mode! & 0o7777;
  if (!info.isDirectory || info.uid !== 0 || (mode & 0o1002) !== 0o1002) {
    throw new StoreError(
      "insecure",
      `the challenge directory ${quote(dir)} must be a root-owned, sticky directory every user ` +
        `may write (like /tmp, 1777); it is ${
          info.isDirectory ? "a directory" : "not a directory"
        } ` +
        `owned by uid ${info.uid} with mode 0${mode.toString(8)}`,
      { remedy: "set CREDD_CHALLENGE_DIRECTORY to /tmp or another 1777 root-owned directory" },
    );
  }
}

interface Pending {
  readonly path: string;
  readonly nonce: string;
  readonly expires: number;
}

/** The daemon's table of issued challenges. */
export class Challenges {
  readonly #pending = new Map<string, Pending>();

  /** The directory, without a trailing slash (the client names the same path). */
  readonly dir: string;

  constructor(
    dir: string,
    readonly options: { readonly ttlMs: number; readonly max: number } = {
      ttlMs: 10_000,
      max: 20_000,
    },
  ) {
    this.dir = dir.replace(/\/+$/, "") || "/";
  }

  /** Challenges issued and not yet used or expired. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Forgets expired challenges and removes the files their clients left (a client killed between
   * creating its file and sending its request). Challenges expire in the order they were issued,
   * so this stops at the first live one.
   */
  #purge(now: number): void {
    for (const [id, p] of this.#pending) {
      if (p.expires >= now) return;
      this.#pending.delete(id);
      try {
        Deno.removeSync(p.path);
      } catch {
        // Never created, or already removed.
      }
    }
  }

  /**
   * Forgets a challenge that will not be answered (its connection closed) and removes its file if
   * its client made one: a caller who drops connections cannot fill the table.
   */
  discard(id: string): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    try {
      Deno.removeSync(pending.path);
    } catch {
      // Never created, or already removed.
    }
  }

  /** Issues a challenge. Throws ProtocolError(503) when too many are outstanding. */
  issue(now: number = Date.now()): Challenge {
    this.#purge(now);
    if (this.#pending.size >= this.options.max) {
      throw new ProtocolError(
        503,
        "unreachable",
        "too many identity challenges are pending; retry",
      );
    }
    const id = randomHex(16);
    const nonce = base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = {
      id,
      path: `${this.dir}/${CHALLENGE_PREFIX}${id}`,
      nonce,
      expires: now + this.options.ttlMs,
    };
    this.#pending.set(id, challenge);
    return challenge;
  }

  /**
   * Proves the caller of a challenge answer: the id must be pending and the nonce must match
   * (a wrong nonce leaves the challenge to its owner); the challenge is then used up, whatever
   * follows; it must not have expired, and its path must be a regular file with one link, not
   * writable by group or others, with the modification time the nonce gives. Returns the file's
   * owner. The file is removed. Throws ProtocolError(401).
   */
  verify(id: unknown, nonce: unknown, now: number = Date.now()): number {
    const refuse = (why: string) => new ProtocolError(401, "not-secure", why);
    if (typeof id !== "string" || typeof nonce !== "string") {
      throw refuse("the request carries no identity challenge");
    }
    const pending = this.#pending.get(id);
    if (pending === undefined) throw refuse("the identity challenge is unknown or already used");
    if (!constantTimeEqual(pending.nonce, nonce)) {
      throw refuse("the identity challenge's nonce is not the one issued with it");
    }
    this.#pending.delete(id);
    if (pending.expires < now) throw refuse("the identity challenge has expired");
    try {
      return proveOwner(pending.path, pending.nonce, refuse);
    } finally {
      try {
        Deno.removeSync(pending.path);
      } catch {
        // The client removes it too; whoever is first.
      }
    }
  }
}

/**
 * The modification time (milliseconds since the epoch) that answers a challenge: 40 bits of the
 * nonce, from 2001 on. Only the file's owner (or root) can give a file an arbitrary time.
 */
export function challengeTime(nonce: string): number {
  const bytes = base64UrlDecode(nonce) ?? new Uint8Array();
  let value = 0;
  for (let i = 0; i < 5; i++) value = value * 256 + (bytes[i] ?? 0);
  return 1_000_000_000_000 + value;
}

/**
 * Returns the owner of a challenge file, or throws `refuse(why)`. Only `lstat`: the path is the
 * caller's to change, so the daemon never opens it (a link swapped in would make root open its
 * target).
 */
function proveOwner(path: string, nonce: string, refuse: (why: string) => Error): number {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    throw refuse("the identity challenge file was not created");
  }
  if (info.isSymlink || !info.isFile) throw refuse("the identity challenge is not a regular file");
  if (info.nlink !== 1) throw refuse("the identity challenge file has more than one link");
  if ((info.mode! & 0o022) !== 0) {
    throw refuse("the identity challenge file may be written by group or others");
  }
  if (info.mtime?.getTime() !== challengeTime(nonce)) {
    throw refuse("the identity challenge file does not carry the challenge's time");
  }
  return info.uid!;
}

/**
 * The client's answer to a challenge: creates its file exclusively (never through a link) with
 * mode 0600, in the challenge directory this client was configured with, and gives it the time the
 * nonce names (`challengeTime`). Returns a function that removes it. Throws
 * StoreError("not-secure") for a challenge outside that directory.
 */
export function answerChallenge(challenge: Challenge, dir: string): () => void {
  const expected = `${dir.replace(/\/+$/, "")}/${CHALLENGE_PREFIX}${challenge.id}`;
  if (challenge.path !== expected) {
    throw new StoreError(
      "not-secure",
      `the daemon asked for an identity file outside the challenge directory ${quote(dir)}`,
    );
  }
  try {
    const file = Deno.openSync(expected, { write: true, createNew: true, mode: 0o600 });
    try {
      const time = new Date(challengeTime(challenge.nonce));
      file.utimeSync(time, time);
    } finally {
      file.close();
    }
  } catch (error) {
    throw new StoreError(
      "not-secure",
      `could not create the identity challenge file ${quote(expected)}: ${
        (error as Error).message
      }`,
    );
  }
  return () => {
    try {
      Deno.removeSync(expected);
    } catch {
      // The daemon may have removed it already.
    }
  };
}
