/**
 * Surviving mutants argued equivalent (TESTING.md "Survivors"): no behaviour changes, so no test
 * can kill them. A survivor matches an entry by file, source line (trimmed) and mutation, never
 * by line number, so entries stay valid while code around them moves; a survivor that matches
 * none is reported as a plain survivor for someone to kill or argue.
 */

/** One argued-equivalent mutant. */
export interface Equivalent {
  readonly file: string;
  /** The mutated source line, trimmed, as the report prints it. */
  readonly source: string;
  /** The line before it, trimmed, when the source line alone occurs more than once. */
  readonly before?: string;
  /** The mutation, as the report prints it (e.g. `< to <=`), or each of several. */
  readonly mutation: string | readonly string[];
  /** Why no behaviour changes. */
  readonly why: string;
  /** What would observe it, if anything could. */
  readonly observe: string;
}

/** Why the status of an HttpError the client raises reading a daemon's answer is never seen. */
const CLIENT_HTTP_STATUS = {
  why: "This is the client reading a daemon's answer: the client turns any HttpError into " +
    'its own "did not answer properly" error from the message alone; the status number ' +
    "is never read.",
  observe: "Nothing the client shows or returns.",
} as const;

/** The argued equivalents. */
export const EQUIVALENTS: readonly Equivalent[] = [
  {
    file: "lib/crypto/scramble.ts",
    source: "for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] ^ KEY[i & 3];",
    mutation: ["0 to (-1)", "< to <="],
    why: "The extra step (first or last) writes `out[-1]` or `out[length]`, which a Uint8Array " +
      "ignores (not an index within it), and reads nothing else: the bytes out are the same.",
    observe: "Nothing outside the function; only the time of one more loop step.",
  },
  {
    file: "lib/crypto/equal.ts",
    source: "for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];",
    mutation: ["< to <=", "0 to (-1)"],
    why: "The lengths are equal here (checked just before), so the extra step XORs " +
      "`a[length]` and `b[length]` (or `a[-1]` and `b[-1]`), both undefined: " +
      "`undefined ^ undefined` is 0, and the result is the same.",
    observe: "Nothing: no input reaches the extra step with a difference.",
  },
  {
    file: "lib/crypto/equal.ts",
    source: "for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);",
    mutation: ["< to <=", "0 to (-1)"],
    why: "As for bytes: the lengths are equal (checked just before), and the extra step XORs " +
      "`charCodeAt` of an index out of range on both sides, NaN and NaN, which gives 0.",
    observe: "Nothing: no input reaches the extra step with a difference.",
  },
  {
    file: "lib/fs/files.ts",
    source: "const bigger = new Uint8Array(Math.min(buffer.length * 2, limit + 1));",
    mutation: "1 to 2",
    why: "The buffer may grow to limit + 2 instead of limit + 1 bytes; the read still stops " +
      "as soon as more than `limit` bytes are in and refuses them as too large, so every " +
      "file reads, or is refused, as before.",
    observe: "Only the memory of one byte, when a file is larger than the limit.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "function findHeadEnd(bytes: Uint8Array, from = 0): number {",
    mutation: "0 to (-1)",
    why: "The default start is only used through `Math.max(3, from)`, which is 3 for 0 and for " +
      "-1 alike.",
    observe: "Nothing.",
  },
  {
    file: "lib/auth/idtoken.ts",
    source: "raw.fill(0);",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The derived HMAC key is overwritten with 0xff bytes instead of zeros once it is " +
      "imported; the buffer is local and never read again, so no result changes.",
    observe: "Only a dump of the process's memory, where the key is gone either way.",
  },
  {
    file: "lib/daemon/http.ts",
    source:
      'if (head === null) throw new HttpError(502, "the daemon closed the connection without answering");',
    mutation: ["502 to 503", "502 to 501"],
    ...CLIENT_HTTP_STATUS,
  },
  {
    file: "lib/daemon/http.ts",
    source: 'if (!match) throw new HttpError(502, "a malformed status line");',
    mutation: ["502 to 503", "502 to 501"],
    ...CLIENT_HTTP_STATUS,
  },
  {
    file: "lib/cli/parse.ts",
    source: "const spelling = eq > 0 ? arg.slice(0, eq) : arg;",
    mutation: ["0 to (-1)", "0 to 1", "> to >="],
    why: "`eq` is -1 (no `=`, or not a long option) or at least 2 (the `=` of `--x=`): it is " +
      "never 0 or 1, so `eq > 0`, `eq > -1`, `eq > 1` and `eq >= 0` all decide alike.",
    observe: "Nothing: no argument gives `eq` 0 or 1.",
  },
  {
    file: "lib/cli/parse.ts",
    source:
      "return spec === undefined ? null : { spec, spelling, inline: eq > 0 ? arg.slice(eq + 1) : null };",
    mutation: ["0 to (-1)", "0 to 1", "> to >="],
    why: "As on the line above: `eq` is -1 or at least 2, never 0 or 1.",
    observe: "Nothing: no argument gives `eq` 0 or 1.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "if (info !== null && (info.mtime?.getTime() ?? 0) >= notBefore) return info;",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The fallback is for a file system without modification times; Linux always gives " +
      "one, so the fallback is never used.",
    observe: "Only a file system without mtimes.",
  },
  {
    file: "lib/store/password.ts",
    source: "password.fill(0);",
    before: "scrambled.fill(0);",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The unscrambled pool password is a local copy, only measured, then wiped; a wipe " +
      "with 0xff or 0x01 instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the password is gone either way.",
  },
  {
    file: "lib/daemon/auth.ts",
    source: ': config.getInt("SEC_TOKEN_MAX_AGE", 0);',
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The fallback applies only when the knob is unset, which the line above has already " +
      "turned into null.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "messageMs: 10_000,",
    mutation: ["10_000 to 10001", "10_000 to 9999"],
    why: "A slow client's message may take 9.999 or 10.001 s instead of 10 s.",
    observe: "Only a timing measurement to the millisecond, which no test makes (tests never " +
      "bound elapsed time).",
  },
  {
    file: "lib/store/write.ts",
    source: "old.fill(0);",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The old credential read back for the comparison is a local copy, wiped once compared; " +
      "a wipe with 0xff or 0x01 instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the old credential is gone either way.",
  },
  {
    file: "lib/fs/directories.ts",
    source: "if (spec.uid !== undefined && spec.uid !== owners.self || spec.gid !== undefined) {",
    mutation: "&& to ||",
    why: "It only adds calls of chown that change nothing: with no owner asked for, " +
      "chown(path, null, null); with this process's own uid, a chown to the owner the new " +
      "directory already has.",
    observe: "Only the system calls (strace).",
  },
  {
    file: "lib/daemon/server.ts",
    source: "}, Math.max(1, sweepInterval) * 1000);",
    mutation: ["1000 to 999", "1000 to 1001"],
    why: "The sweep runs every 0.999 or 1.001 times SEC_CREDENTIAL_SWEEP_INTERVAL seconds.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/client.ts",
    source: "for (let wait = 50;; wait *= 2) {",
    mutation: ["50 to 51", "50 to 49"],
    why: "The client's first wait before retrying a busy daemon is 49 or 51 ms instead of 50 " +
      "(then doubling, each with random jitter of up to the same again).",
    observe: "Only the timing of retries.",
  },
  {
    file: "lib/daemon/client.ts",
    source: "const REPLY_MS = 120_000;",
    mutation: ["120_000 to 120001", "120_000 to 119999"],
    why: "The client waits 119.999 or 120.001 s instead of 120 s for a reply.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "if (this.#store.length - this.#length < CHUNK) {",
    mutation: "< to <=",
    why: "The buffer grows when exactly one chunk is left free as well as when less is: one " +
      "step earlier, the same bytes read into it.",
    observe: "Only the memory of one buffer.",
  },
  {
    file: "lib/store/kerberos.ts",
    source:
      "const done = await waitForFile(store, cc, written.mtime?.getTime() ?? 0, timeout, ctx.debug);",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The fallback is for a file system without modification times; Linux always gives one.",
    observe: "Only a file system without mtimes.",
  },
  {
    file: "lib/daemon/challenge.ts",
    source: "return 1_000_000_000_000 + value;",
    mutation: ["1_000_000_000_000 to 1000000000001", "1_000_000_000_000 to 999999999999"],
    why: "The client sets the challenge file's time with this same function and the daemon " +
      "compares with it: shifted by a millisecond on both sides, every proof is judged alike.",
    observe: "Only a client built from other code (this program's own client uses this function).",
  },
  {
    file: "lib/daemon/challenge.ts",
    source: "ttlMs: 10_000,",
    mutation: ["10_000 to 10001", "10_000 to 9999"],
    why: "A challenge's default lifetime is 9.999 or 10.001 s instead of 10 s (the daemon passes " +
      "its own, CREDD_CHALLENGE_LIFETIME).",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "if (oldest === null || slot.opened < oldest.opened) oldest = slot;",
    mutation: "< to <=",
    why: "Only the choice between idle connections opened in the same millisecond changes: " +
      "either is the oldest.",
    observe: "Nothing specified: which of two equally old idle connections a full daemon closes.",
  },
  {
    file: "lib/daemon/auth.ts",
    source: "if (this.limits.perToken > 0) {",
    before: "failed(key: string, now: number = Date.now()): void {",
    mutation: ["0 to (-1)", "> to >="],
    why: "With the per-token limit off (CREDD_AUTH_FAILURE_LIMIT 0), a token's failures are " +
      "remembered as well, but `check()` reads them only when the limit is on; the table is " +
      "bounded by `maxKeys` either way.",
    observe: "Only the memory of the failure table while the limit is off.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "? (bytes.fill(0), null)",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The body of a route that takes none (or an empty optional one) is wiped and dropped; " +
      "a wipe with 0xff or 0x01 instead of zeros changes no result.",
    observe: "Only a dump of the process's memory.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "firstRequestMs: 10_000,",
    mutation: ["10_000 to 10001", "10_000 to 9999"],
    why: "A new connection's first request may take 9.999 or 10.001 s instead of 10 s to arrive.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "idleMs: 60_000,",
    mutation: ["60_000 to 60001", "60_000 to 59999"],
    why: "An idle connection is closed after 59.999 or 60.001 s instead of 60 s.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "shutdownMs: 15_000,",
    mutation: ["15_000 to 15001", "15_000 to 14999"],
    why: "A stopping daemon waits 14.999 or 15.001 s instead of 15 s for requests in progress.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "this.#scanned = Math.max(0, this.#length - 3);",
    mutation: ["3 to 4", "3 to 2", "0 to (-1)", "0 to 1"],
    why: "Where the next search for the end of the head starts. The search just made checked " +
      "every end position up to `length - 1`, and `findHeadEnd` starts at 3 at the earliest, so " +
      "any start from `length - 4` to `length - 2` (and 1, 0 or -1 while fewer than 4 bytes are " +
      "in) finds the same end: only a byte more or less is scanned again.",
    observe: "Only the time of scanning one byte.",
  },
  {
    file: "lib/daemon/client.ts",
    source:
      'throw new ProtocolError(502, "unreachable", "the daemon\'s health answer is not JSON");',
    mutation: ["502 to 503", "502 to 501"],
    why: 'The client turns this error into its message by `status >= 500` only ("could not ' +
      'handle the request"); on this path (the TLS health request) nothing retries on 503.',
    observe: "Nothing the client shows or returns.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "debug(`waiting for ${path} at most ${Math.max(0, deadline - Date.now())} ms`);",
    mutation: "0 to (-1)",
    why: "The -d line can differ only when the deadline has already passed as it is written " +
      "(a 0 s timeout on a loaded machine): it then says -1 ms instead of 0; the wait itself " +
      "is the same.",
    observe: "Only that -d line, and only by chance of the machine's load.",
  },
  {
    file: "lib/fs/lock.ts",
    source: "Math.max(0, deadline - Date.now())",
    mutation: "0 to (-1)",
    why: "As for the credmon's wait: the -d line can differ only when the deadline has already " +
      "passed as it is written, and then by saying -1 ms instead of 0; the wait is the same.",
    observe: "Only that -d line, and only by chance of the machine's load.",
  },
  {
    file: "lib/auth/idtoken.ts",
    source: "plain.fill(0);",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "The unscrambled key file is a local buffer: what is returned is a copy (`key.slice()`) " +
      "or the doubled key, never `plain` itself, so wiping it with 0xff or 0x01 instead of " +
      "zeros changes no result.",
    observe: "Only a dump of the process's memory, where the key is gone either way.",
  },
  {
    file: "lib/auth/idtoken.ts",
    source: "const lifetime = options.lifetime ?? -1;",
    mutation: "1 to 2",
    why: "The default lifetime means no expiry; it is only compared with `lifetime >= 0`, for " +
      "which -1 and -2 alike give a token without `exp`.",
    observe: "Nothing: no token differs.",
  },
  {
    file: "lib/auth/keys.ts",
    source: "bytes.fill(0);",
    before: "} finally {",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "Both such lines wipe a local buffer of file bytes once it is used: the signing key " +
      "file's (signingKeyMaterial returns new bytes and keeps no reference to it) and the " +
      "token file's (already decoded into strings). Wiping with 0xff or 0x01 instead of " +
      "zeros changes no result.",
    observe: "Only a dump of the process's memory, where the bytes are gone either way.",
  },
  {
    file: "lib/auth/keys.ts",
    source: "bytes.fill(0);",
    before: "tokens.push(...tokensIn(decoder.decode(bytes)));",
    mutation: ["0 to (-1)", "0 to 1"],
    why: "As for the token file: the bytes of a token directory's file are local and already " +
      "decoded into strings when they are wiped.",
    observe: "Only a dump of the process's memory, where the bytes are gone either way.",
  },
  {
    file: "lib/cli/parse.ts",
    source: "const name = eq < 0 ? arg : arg.slice(0, eq);",
    mutation: ["< to <=", "0 to 1"],
    why: "`arg` starts with `--` here, so `eq` (the index of its first `=`) is -1 or at least 2: " +
      "`eq < 0`, `eq <= 0` and `eq < 1` decide alike. (The other `0 to 1` of the line, in " +
      "`slice(0, eq)`, changes the name shown and is killed by tests/parse_unit_test.ts.)",
    observe: "Nothing: no argument gives `eq` 0 or 1.",
  },
  {
    file: "lib/cli/parse.ts",
    source: "return eq < 0 ? shown : `${shown}=…`;",
    mutation: ["< to <=", "0 to 1"],
    why: "As on the line before it: `eq` is -1 or at least 2, never 0 or 1.",
    observe: "Nothing: no argument gives `eq` 0 or 1.",
  },
  {
    file: "lib/cli/parse.ts",
    source: "return lower.length >= 2 && GRAMMAR_WORDS.some((w) => w.startsWith(lower));",
    mutation: "2 to 1",
    why: "The only caller (shownOption) returns early for an argument of 2 characters or fewer, " +
      "so the word after the dash it passes has at least 2: `>= 1` and `>= 2` decide alike.",
    observe: "Nothing: no argument reaches it with a shorter word.",
  },
  {
    file: "lib/cli/parse.ts",
    source: 'const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;',
    mutation: ["1 to 2", "1 to 0"],
    why: "The -1 (no inline value) is only compared with `eq > 0` (the lines after it); -2 and " +
      "-0 are not greater than 0 either.",
    observe: "Nothing.",
  },
  {
    file: "lib/cli/parse.ts",
    source:
      'if ((ACTIONS as readonly string[]).includes(arg.split("-", 1)[0].toLowerCase())) return null;',
    mutation: "1 to 2",
    why: "Only the first piece of the split is read; a limit of 2 pieces gives the same first " +
      "piece as a limit of 1.",
    observe: "Nothing.",
  },
  {
    file: "lib/cli/route.ts",
    source: 'if (p === "/" || !p.startsWith("/")) return null;',
    mutation: ["|| to &&", "removed: if (...) return"],
    why: "The walk up to the nearest existing directory stops here only when `/` itself cannot " +
      "be examined, or the path is relative; the caller passes absolute paths only (it routes " +
      "a relative store in-process before), and `/` always exists, so the walk always ends at " +
      "an existing directory first.",
    observe: "Only a system where stat of `/` fails (the mutant would then loop).",
  },
  {
    file: "lib/store/list.ts",
    source: "order(a.type) - order(b.type) || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0) ||",
    mutation: "1 to 2",
    why: "The comparator's -1 becomes -2, or its 1 becomes 2: the same sign, and " +
      "Array.prototype.sort reads only the sign of what the comparator returns.",
    observe: "Nothing: the rows come out in the same order.",
  },
  {
    file: "lib/store/list.ts",
    source: '((a.name ?? "") < (b.name ?? "") ? -1 : (a.name ?? "") > (b.name ?? "") ? 1 : 0)',
    mutation: ["1 to 2", "> to >=", "1 to 0", "0 to 1", "0 to (-1)", "< to <="],
    why: "The last key of the sort. V8's sort (TimSort) only ever asks whether the comparator's " +
      "result is below 0, so 1, 2 and 0 for a name after the other are the same answer " +
      "(`1 to 0` here is the `? 1`; the `-1` made `-0`, which is not below 0, is killed by " +
      "tests/store_fs_unit_test.ts). The equal case (`0 to (-1)`, `0 to 1`, `< to <=`, and " +
      "`> to >=` for equal names) needs two rows of the same type, user and name, which no " +
      "lister makes: one row per password file, per Kerberos user and per OAuth stem of a user.",
    observe: "Nothing through V8's Array.prototype.sort; only another engine's sort could differ.",
  },
  {
    file: "lib/store/oauth.ts",
    source: "if (at + (escape ? 2 : 1) > to.length) {",
    mutation: ["> to >=", "2 to 1"],
    why: "mergeScopes always puts the 3-byte closing brace after the members, so a member value " +
      "that reaches the last byte of the buffer makes the merge too large either way: `>=` " +
      "stops one byte earlier, and `2 to 1` writes the backslash into the last byte (the byte " +
      "after it falls outside the Uint8Array and is dropped); both leave the buffer full, the " +
      "closing put overflows, and the same too-large error is thrown with the buffer wiped.",
    observe:
      "Nothing: the result (too-large, or the same merged bytes) is the same for every input.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "const pid = Number(match[1]);",
    mutation: "1 to 0",
    why: "match[0] is the whole text: the digits with only white space (\\s) around them, and " +
      "Number() trims exactly that white space (StrWhiteSpaceChar is \\s's set: checked for " +
      "every UTF-16 code unit), so it gives the same number.",
    observe: "Nothing: the same pid for every text the pattern accepts.",
  },
  {
    file: "lib/store/list.ts",
    source: "content.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The start of a .top read for its scopes and audience is a local copy, wiped once read; " +
      "a wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the bytes are gone either way.",
  },
  {
    file: "lib/store/list.ts",
    source: "read.content.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The start of a .use read for its access token's claims is a local copy, wiped once " +
      "the claims are copied out; a wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the token is gone either way.",
  },
  {
    file: "lib/store/password.ts",
    source: "key?.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The host key is read afresh from host.key for this query and wiped once used; a wipe " +
      "with 0x01 or 0xff instead of zeros changes no result (the file is not touched).",
    observe: "Only a dump of the process's memory, where the key is gone either way.",
  },
  {
    file: "lib/fs/lock.ts",
    source: "await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));",
    mutation: ["10 to 9", "10 to 11"],
    why: "A held lock is polled every 9 or 11 ms instead of 10 until CRED_LOCK_TIMEOUT: the " +
      "same outcome, a millisecond sooner or later.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "const deadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;",
    mutation: "0 to (-1)",
    why: "Only a negative CREDD_POLLING_TIMEOUT reaches it: the deadline is then 1 s in the past " +
      "instead of now, and either way the file is looked for once and null returned; the -d " +
      "line clamps the wait it shows to 0 ms.",
    observe: "Nothing: one look, the same answer and the same -d line.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "if (info !== null && (info.mtime?.getTime() ?? 0) >= notBefore) return info;",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The fallback is for a file system without modification times; Linux always gives one.",
    observe: "Only a file system without mtimes.",
  },
  {
    file: "lib/store/password.ts",
    source: "key.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "Each of the three is a host key of this call's own, dropped right after: a key that " +
      "lost the race to create host.key (the winner's is read instead), a damaged key about " +
      "to be refused, and the key used to seal, which createFileOnce has already written (the " +
      "write is awaited before). A wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the key is gone either way.",
  },
  {
    file: "lib/store/password.ts",
    source: "plain.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The password unsealed from the stored file, a local copy, wiped once compared or " +
      "checked; a wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the password is gone either way.",
  },
  {
    file: "lib/store/password.ts",
    source: "scrambled.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The scrambled pool password, a local copy: written by writeCredential (awaited before " +
      "the wipe) or read back for a query; a wipe with 0x01 or 0xff instead of zeros changes " +
      "no result.",
    observe: "Only a dump of the process's memory, where the bytes are gone either way.",
  },
  {
    file: "lib/store/password.ts",
    source: "password.fill(0);",
    before: "scrambled.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "In the pool password's query: the password unscrambled from the file, a local copy " +
      "(not the caller's credential, which the adds wipe and the tests check); a wipe with " +
      "0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the password is gone either way.",
  },
  {
    file: "lib/store/password.ts",
    source: "sealed?.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The sealed password, a local copy written by writeCredential (awaited before the " +
      "wipe); a wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory.",
  },
  {
    file: "lib/store/credmon.ts",
    source: "await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));",
    mutation: ["50 to 49", "50 to 51"],
    why: "The credmon's file is looked for every 49 or 51 ms instead of 50 until the same " +
      "deadline: the same outcome, a millisecond sooner or later.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/store/kerberos.ts",
    source: "credential.fill(0);",
    before: "const service = localIssuerService(credential);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The LOCAL:<service> request's credential is the request's own buffer, which perform() " +
      "zeroes in its finally whatever happens (wipeRequest); addKerberos is called only from " +
      "there, so a wipe with 0x01 or 0xff here is overwritten with zeros before any caller " +
      "sees the buffer again.",
    observe: "Only a dump of the process's memory between the two wipes.",
  },
  {
    file: "lib/fs/lock.ts",
    source: "file.truncateSync(0);",
    mutation: "0 to (-1)",
    why: "Deno's FsFile.truncateSync(-1) empties the file as truncateSync(0) does (checked on " +
      "Deno 2.9.6: a 5-byte file is then 0 bytes, no error), so the journal is cleared either way.",
    observe: "Nothing: the lock file's bytes are the same.",
  },
  {
    file: "lib/fs/lock.ts",
    source: "file.truncateSync(0);",
    before: "try {",
    mutation: "0 to 1",
    why: "Writing the journal: the file is cut to 1 byte instead of 0, then the entry is written " +
      "from offset 0; the entry is a temp file's name (tempNameFor, never empty), so it covers " +
      "that byte and the journal holds exactly the entry either way.",
    observe: "Nothing: the lock file's bytes are the same.",
  },
  {
    file: "lib/store/layout.ts",
    source: "return condor === null ? PRIVATE : { uid: 0, gid: condor.gid, mode: 0o2770 };",
    mutation: "0 to (-1)",
    why: "Only the system layout reaches it, where this process is root (euid 0): the new OAuth " +
      "directory is root's already, and chown with uid -1 leaves the owner as it is, so the " +
      "directory is root:condor 2770 either way.",
    observe: "Only the system calls (strace): chown(path, -1, gid) instead of chown(path, 0, gid).",
  },
  {
    file: "lib/store/layout.ts",
    source:
      "if (storeDirectory(spool, ctx.owners, { create: create ? PRIVATE : null }) === null) {",
    mutation: "removed: if (...) return",
    why: "The spool root is null only when it is missing and not to be created; the store " +
      "directory lies inside it, so the storeDirectory() that follows finds it missing too and " +
      "returns the same null (walking the same trusted components).",
    observe: "Nothing: null either way, and no directory created.",
  },
  {
    file: "lib/store/oauth.ts",
    source: "content.fill(0);",
    before: "} finally {",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The .top a query reads for its scopes and audience, and the .use it reads for the " +
      "access token's expiry, are local copies, wiped once what is needed is copied out; a " +
      "wipe with 0x01 or 0xff instead of zeros changes no result.",
    observe: "Only a dump of the process's memory, where the bytes are gone either way.",
  },
  {
    file: "lib/store/types/password.ts",
    source: 'keywords: [{ keyword: "pwd", minLength: 1 }, { keyword: "password", minLength: 2 }],',
    mutation: "2 to 1",
    why: "The only 1-letter prefix of password is `p`, which pwd (minLength 1, looked up first) " +
      "already matches, for the same type: -p means password either way.",
    observe: "Nothing: every suffix gives the same type.",
  },
  {
    file: "lib/daemon/challenge.ts",
    source: "for (let i = 0; i < 5; i++) value = value * 256 + (bytes[i] ?? 0);",
    mutation: "0 to (-1)",
    why: "The extra first step reads `bytes[-1]` (undefined, so 0) while `value` is 0: it stays " +
      "0 * 256 + 0 = 0, and the five steps that follow are the same: the time is the same.",
    observe: "Nothing; only the time of one more loop step.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "#delay = 0;",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The delay is only read by `failed`, as `Math.max(10, delay * 2)`: from 1 or -1 that is " +
      "10, as from 0, and every later value follows from it.",
    observe: "Nothing; the back-off delays and log lines are the same.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "this.#delay = 0;",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "As for the initial `#delay = 0`: the next `failed` computes `Math.max(10, delay * 2)`, " +
      "10 from 1, -1 or 0.",
    observe: "Nothing; the back-off delays are the same.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "const groups = [...this.#groups.values()].filter((g) => g.slots.size > 0)",
    mutation: ["> to >=", "0 to (-1)"],
    why: "A group with no connection has no idle connection to close: `#oldestIdle` returns null " +
      "for it and `evictOne` goes to the next group, as if it had been filtered out.",
    observe: "Nothing; the same connection is closed to make room.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "let euid = 0;",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "The worker's `euid` is set from the `init` message before it answers `ready`, and the " +
      "pool sends calls only to a worker that answered `ready`: the initial value is never read.",
    observe: "Nothing; no call reaches a worker before its init.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "const pingMs = options.pingMs ?? 5_000;",
    mutation: ["5_000 to 5001", "5_000 to 4999"],
    why: "A silent worker is declared lost one millisecond later or sooner, checked on a " +
      "one-second tick; its log line rounds the wait to seconds (5 either way).",
    observe:
      "Only the timing of a lost worker's replacement, by one millisecond, within a 1 s tick.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "if (slot === undefined || slot.body === 0) return;",
    mutation: "0 to (-1)",
    why: "A body is never -1 bytes; for a connection holding none (0), going on subtracts 0 from " +
      "its group's and the daemon's counts and sets it to 0 again: nothing changes.",
    observe: "Nothing; the counts are the same.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "else if (group.slots.size === 0 && group.running === 0) this.#groups.delete(owner);",
    mutation: "0 to (-1)",
    why: "Neither count is ever -1, so a caller's emptied group is not deleted when its last " +
      "request ends after its last connection went: it stays in the map with no connection, no " +
      "request and no body, which reads exactly as a missing group (`count` and `requests` give " +
      "0, `evictOne` skips it, the next `turn` or `claim` starts from the same zeros).",
    observe: "Only memory: one empty map entry per such caller until the daemon exits.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "if (group.slots.size === 0 && group.running === 0 && group.waiting.length === 0) {",
    mutation: "0 to (-1)",
    why: "None of the three counts is ever -1, so a group emptied by its last connection going " +
      "is not deleted: it stays with no connection, request or body, which reads exactly as a " +
      "missing group (`count` and `requests` give 0, `evictOne` skips it, the next `claim` or " +
      "`turn` starts from the same zeros).",
    observe: "Only memory: one empty map entry per caller ever seen, until the daemon exits.",
  },
  {
    file: "lib/daemon/connections.ts",
    source: "#nextId = 1;",
    mutation: ["1 to 2", "1 to 0"],
    why: "A connection's id is only a key: it is compared with null (a refusal) and passed back " +
      "to the table, never shown, logged or ordered; starting at 2 or 0 keeps every id unique.",
    observe: "Nothing; no reply or log line carries the id.",
  },
  {
    file: "lib/daemon/routes.ts",
    source: ": 0;",
    before: '? config.integer("CREDD_POLLING_TIMEOUT")',
    mutation: "0 to (-1)",
    why: "The credmon wait of a request that has none is only used as `Math.max(0, credmon)`: " +
      "-1 gives 0, as 0 does.",
    observe: "Nothing; the deadline is the same.",
  },
  {
    file: "lib/daemon/routes.ts",
    source:
      "rows.some((row, i) => row.problem !== (reply.rows as { problem?: unknown }[])[i].problem);",
    mutation: "!== to ===",
    why: "`rowsHidden` only decides whether the reply is returned as it is or as a copy with the " +
      "same fields (rows are only in a listing's success, which has no error, and a reply without " +
      "an error is always copied, `null === undefined` being false), and `hidden` is taken from " +
      "the error alone: the reply sent and the log line are the same.",
    observe: "Only whether the reply object is the store's or an equal copy.",
  },
  {
    file: "lib/daemon/challenge.ts",
    source: "ttlMs: 10_000,",
    mutation: ["10_000 to 9999", "10_000 to 10001"],
    why: "The default options of `Challenges` are used by tests only: the daemon (server.ts) " +
      "always passes its CREDD_CHALLENGE_LIFETIME and its bound.",
    observe: "Nothing the daemon does; a test constructing `Challenges` without options.",
  },
  {
    file: "lib/daemon/challenge.ts",
    source: "max: 20_000,",
    mutation: ["20_000 to 19999", "20_000 to 20001"],
    why: "The default options of `Challenges` are used by tests only: the daemon (server.ts) " +
      "always passes its own bound, max(20,000, 8 x CREDD_MAX_CONNECTIONS).",
    observe: "Nothing the daemon does; a test constructing `Challenges` without options.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "if (now <= call.deadline) continue;",
    mutation: "<= to <",
    why: "Deadlines are checked on a tick (1 s by default): a request whose deadline is exactly " +
      "the tick's millisecond is answered as late on this tick instead of the next; the answer " +
      "and the log line are the same.",
    observe: "Only the moment a late request is answered, when its deadline falls on a tick's " +
      "exact millisecond.",
  },
  {
    file: "lib/daemon/server.ts",
    source: 'ttlMs: Math.max(1, config.integer("CREDD_CHALLENGE_LIFETIME")) * 1000,',
    mutation: ["1000 to 999", "1000 to 1001"],
    why: "A challenge lives CREDD_CHALLENGE_LIFETIME seconds plus or minus one millisecond per " +
      "second: its `expires` moves by that much, which the client never compares with anything " +
      "but the daemon's own clock.",
    observe: "Only a challenge answered within a few milliseconds of its expiry.",
  },
  {
    file: "lib/daemon/auth.ts",
    source: "if (this.limits.total > 0) this.#all.push(now);",
    mutation: "0 to (-1)",
    why: "With no limit in all (`total` 0) the failures are recorded anyway, but `check` reads " +
      "them only when `total > 0`: no verification is refused or let through differently.",
    observe: "Only memory: the failure times kept while CREDD_AUTH_FAILURES_PER_MINUTE is 0.",
  },
  {
    file: "lib/daemon/auth.ts",
    source: "while (i < times.length && now - times[i] >= this.limits.windowMs) i++;",
    mutation: "< to <=",
    why:
      "One step past the end reads `times[times.length]`, undefined: `now - undefined` is NaN, " +
      "and `NaN >= windowMs` is false, so the loop stops at the same `i`.",
    observe: "Nothing; the same failures are counted.",
  },
  {
    file: "lib/daemon/auth.ts",
    source: "if (this.limits.total > 0) this.#remember(this.#verified, key, now);",
    mutation: "0 to (-1)",
    why: "With no limit in all (`total` 0) verified tokens are remembered anyway, but `check` " +
      "reads them only when `total > 0`: no verification is refused or let through differently.",
    observe: "Only memory: up to maxKeys verified tokens kept while the limit is off.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "let turn = 0;",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "`turn` only says which slot the search for the least busy worker starts from, modulo " +
      "the pool's size: among equally idle workers, which one takes the next request is not " +
      "specified and changes nothing the request gets.",
    observe: "Only which worker's name appears in a failure's log line.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: 'if (thread.state === "ended") return;',
    before: "const end = (thread: Thread, failure: WorkerFailure | null) => {",
    mutation: "removed: if (...) return",
    why: "Ending a worker twice does the same again: it is marked ended, its start (already " +
      "given up) is not aborted twice, `terminate` on a terminated worker does nothing, and the " +
      "calls it held were failed and cleared the first time, so no call is answered twice.",
    observe: "Nothing; no answer, log line or count changes.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "}, options.tickMs ?? 1_000);",
    mutation: ["1_000 to 999", "1_000 to 1001"],
    why: "How often deadlines and pings are checked, by one millisecond in a second: a late " +
      "request is answered, and a silent worker replaced, a millisecond sooner or later.",
    observe: "Only the timing of a late answer, by a millisecond.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "const CHUNK = 16 * 1024;",
    mutation: ["16 to 15", "16 to 17", "1024 to 1023", "1024 to 1025"],
    why: "How much the HTTP reader asks of the connection per read, and the steps by which its " +
      "buffer grows and is given back: the same bytes arrive in the same order, and every limit " +
      "(MAX_HEAD_BYTES, the bodies') is a constant of its own.",
    observe: "Only the size of each read system call (strace) and the buffer's memory.",
  },
  {
    file: "lib/daemon/stream.ts",
    source: "const CHUNK = 16 * 1024;",
    mutation: ["16 to 15", "16 to 17", "1024 to 1023", "1024 to 1025"],
    why: "How much the TLS side reads from the socket per read: node:tls gets the same bytes in " +
      "other pieces, and decrypts the same records.",
    observe: "Only the size of each read system call (strace).",
  },
  {
    file: "lib/daemon/http.ts",
    source: "if (this.#store.length > 4 * CHUNK && this.#length <= CHUNK) {",
    mutation: ["4 to 3", "4 to 5", "> to >=", "<= to <"],
    why:
      "When a buffer a large body grew is given back for a small one: a chunk sooner or later. " +
      "What is buffered is kept whole either way (the small buffer holds two chunks), and the " +
      "buffer let go is wiped either way (daemon_wire_unit_test checks the wipes).",
    observe: "Only the memory an idle connection holds.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "const small = new Uint8Array(2 * CHUNK);",
    mutation: ["2 to 1", "2 to 3"],
    why: "The size of the buffer given back to an idle connection: at most one chunk is kept " +
      "(the condition before), which one chunk or three hold as well as two; the next read grows " +
      "it as needed.",
    observe: "Only the memory an idle connection holds.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "const grown = new Uint8Array(Math.max(this.#store.length * 2, this.#length + CHUNK));",
    mutation: ["2 to 1", "2 to 3"],
    why: "How fast the buffer grows: by a chunk at a time instead of doubling, or tripling. " +
      "Every read still has a chunk of room, so the same bytes are read.",
    observe: "Only the time and memory of reading a large body (a benchmark, not a test: " +
      "growing by a chunk copies O(n^2) bytes).",
  },
  {
    file: "lib/daemon/http.ts",
    source: "#store = new Uint8Array(0);",
    mutation: "0 to 1",
    why: "The reader's first buffer: one byte instead of none; the first read grows it to a " +
      "chunk before reading into it (one byte is less than a chunk free), copying nothing read.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "for (let i = Math.max(3, from); i < bytes.length; i++) {",
    mutation: "3 to 2",
    why: "At i = 2 the test reads bytes[-1], undefined, so no blank line can end there: the " +
      "first end found is the same.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "return -1;",
    mutation: "1 to 2",
    why: "findHeadEnd's 'not found': its only caller tests the result with `> MAX_HEAD_BYTES` " +
      "and `>= 0`, which -2 fails as -1 does.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/http.ts",
    source: 'if (left <= 0) throw new HttpError(408, "timed out reading from the peer");',
    mutation: ["0 to (-1)", "0 to 1", "<= to <"],
    why: "A read whose deadline is now, or a millisecond away, is refused at once instead of " +
      "raced against a timer of 0 or 1 ms: the same 408, a millisecond sooner or later.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "const deadline = Date.now() + 500;",
    mutation: ["500 to 501", "500 to 499"],
    why: "lingerClose drains a peer for 499 or 501 ms instead of 500 before it closes.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/http.ts",
    source:
      "new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),",
    mutation: ["1 to 2", "1 to 0"],
    why: "lingerClose's last wait, once its deadline has passed, is 0 or 2 ms instead of 1.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "body.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "writeJsonRequest's encoded body is copied into the message and wiped; the copy written " +
      "is wiped with zeros (daemon_wire_unit_test checks it). This buffer is local and never " +
      "read again: 0x01 or 0xff instead of zeros overwrite the credential as well.",
    observe: "Only a dump of the process's memory, where the credential is gone either way.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "bytes.fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "A request body, once parsed, is wiped: it is the reader's copy (readBody returns a " +
      "slice; the reader wipes its own buffer), local and never read again, so 0x01 or 0xff " +
      "overwrite it as well as zeros.",
    observe: "Only a dump of the process's memory, where the body is gone either way.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "(await readBody()).fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "A body dropped before a refusal is a copy (readBody returns a slice), local and never " +
      "read again: 0x01 or 0xff overwrite it as well as zeros.",
    observe: "Only a dump of the process's memory.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "(await reader.readBody(head.length, Date.now() + limits.messageMs)).fill(0);",
    mutation: ["0 to 1", "0 to (-1)"],
    why: "As above: a dropped body's copy, wiped with 0x01 or 0xff instead of zeros.",
    observe: "Only a dump of the process's memory.",
  },
  {
    file: "lib/daemon/exchange.ts",
    source: "if (unprovenLeft <= 0) return;",
    mutation: ["0 to 1", "0 to (-1)", "<= to <"],
    why: "Where the time to prove a caller ends within a millisecond of now, the connection is " +
      "let go now or a millisecond later: the read that follows has that same end as its " +
      "deadline, so it ends with a 408, unanswered, unless a whole request is already buffered, " +
      "which is then served in that millisecond.",
    observe: "Only a timing to the millisecond (a pipelined request at the very end of the " +
      "time), which no test makes; without the check, daemon_wire_unit_test sees the buffered " +
      "request served.",
  },
  {
    file: "lib/daemon/stream.ts",
    source: "if (this.#buffered >= HIGH_WATER && !this.#paused) {",
    mutation: "! dropped",
    why: "Pausing a stream that is already paused does nothing; the flag is set to true again.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/client.ts",
    source: "if (transient(error) && wait <= 2000) {",
    mutation: ["2000 to 2001", "2000 to 1999", "<= to <"],
    why: "The wait doubles from 50 ms: 1600 then 3200, never between 1999 and 2001, so the last " +
      "retry is the same.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/client.ts",
    source:
      "if (!(error instanceof ProtocolError) || error.status !== 503 || wait > 2000) throw error;",
    mutation: ["2000 to 2001", "2000 to 1999", "> to >="],
    why: "As for the connection's retries: the wait is 1600 then 3200 ms, never 1999 to 2001.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/tls.ts",
    source: "for (let i = 0; i < Math.min(certs.length, keys.length); i++) {",
    mutation: "< to <=",
    why: "One more pair is looked at, past the end of a list: its paths are undefined, which " +
      "`exists` takes for missing (stat throws), so the pair chosen is the same.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/tls.ts",
    source:
      'if (!info.isFile) throw new StoreError("config", `the TLS ${what} ${quote(path)} is not a file`);',
    mutation: "removed: if (...) throw",
    why: "serverCertificate chooses only paths that are regular files (`exists`) just before " +
      "readPem looks again, so this refusal is reached only when the file is replaced by " +
      "something else in between; without it, a directory is refused by the read that follows.",
    observe: "Only that race, and then a FIFO put in the file's place, which the read would wait " +
      "on: no test can time it.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "function findHeadEnd(bytes: Uint8Array, from = 0): number {",
    mutation: "0 to 1",
    why: "As for -1: the default start is only used through `Math.max(3, from)`, 3 for 1 too.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "this.#scanned = 0;",
    mutation: "0 to 1",
    why: "After bytes are consumed the search for a head's end starts again from the front; " +
      "`findHeadEnd` starts at `Math.max(3, from)`, which is 3 for 1 as for 0.",
    observe: "Nothing.",
  },
  {
    file: "lib/daemon/client.ts",
    source:
      "const health = await readResponse(reader, { idleMs: 30_000, messageMs: 30_000, maxBody: 4096 });",
    mutation: ["30_000 to 30001", "30_000 to 29999"],
    why: "The client waits 29.999 or 30.001 s instead of 30 s for the TLS health answer.",
    observe: "Only a timing measurement to the millisecond, which no test makes.",
  },
  {
    file: "lib/daemon/client.ts",
    source: 'throw new ProtocolError(502, "unreachable", "the daemon\'s answer is not JSON");',
    mutation: "502 to 501",
    why: "The client reads this status only as `>= 500` (its message) and `=== 503` (a retry " +
      "of the challenge); 501 is neither 503 nor below 500. (503 is killed: it would retry.)",
    observe: "Nothing the client shows or returns.",
  },
  {
    file: "lib/daemon/client.ts",
    source: 'throw new ProtocolError(502, "unreachable", "the daemon\'s answer is not an object");',
    mutation: "502 to 501",
    why: "As for the answer that is not JSON: 501 reads as 502 everywhere the client looks.",
    observe: "Nothing the client shows or returns.",
  },
  {
    file: "lib/fs/paths.ts",
    source:
      'const trimmed = path.length > 1 && path.endsWith("/") ? path.replace(/\\/+$/, "") : path;',
    before: "export function basename(path: string): string {",
    mutation: "&& to ||",
    why: "With `||`, a path that does not end in `/` is still passed through the replace, which " +
      "removes nothing from it; the one path it changes is `/`, trimmed to the empty string, " +
      "whose last component is the empty string either way (`/`.slice(1)).",
    observe: "Nothing: basename gives the same string for every path (dirname's copy of the " +
      "line is not equivalent and is not matched: `before` tells them apart).",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "for (let i = 0; i < slots.length; i++) {",
    before: "let chosen: Thread | null = null;",
    mutation: "< to <=",
    why:
      "The extra step looks again at the slot the first step looked at (`(turn + slots.length) " +
      "% slots.length` is `turn % slots.length`); a worker replaces the chosen one only when it " +
      "holds strictly fewer requests, which the chosen one (at most as busy as that slot) rules " +
      "out, so the same worker is chosen.",
    observe: "Nothing: the same worker gets every request.",
  },
  {
    file: "lib/daemon/server.ts",
    source: 'if (!(error instanceof Deno.errors.NotFound)) throw osError(error, "inspect", path);',
    mutation: "removed: if (...) throw",
    why: "lstat of the socket path fails with anything but ENOENT only when its directory cannot " +
      "be searched or the name is too long; the directory was made or checked (root's or the " +
      "caller's, searchable) just before, and a path over 107 bytes is refused before that " +
      "(checkSocketPath), so no name reaching this line is too long.",
    observe: "Only a file system failing lstat itself (EIO), or the directory's mode changed by " +
      "its owner between the check and the lstat; the start then fails later, at listen.",
  },
  {
    file: "lib/daemon/http.ts",
    source: "while (drained < 1024 * 1024 && Date.now() < deadline) {",
    mutation: "< to <=",
    why: "For `Date.now() <= deadline`: the linger of a closing connection reads once more when " +
      "the clock stands exactly on its deadline, for at most one more millisecond (its timer " +
      "is at least 1 ms); what is drained and when the connection closes differ by that " +
      "millisecond only. (The same mutation of `drained < 1024 * 1024` on this line is not " +
      "equivalent, and tests/daemon_wire_unit_test.ts kills it: an entry never turns a killed " +
      "mutant into a survivor.)",
    observe: "Only the time a lingering close takes, to the millisecond.",
  },
  {
    file: "lib/daemon/workers.ts",
    source: "if (chosen === null || thread.calls.size < chosen.calls.size) chosen = thread;",
    mutation: "< to <=",
    why: "Among workers equally least busy, the last one of this turn's order is chosen instead " +
      "of the first; either is a least busy worker, and the turn still rotates, so requests " +
      "are still spread over the workers that hold the fewest.",
    observe: "Only which of two equally idle workers (by name, in -d lines) performed a request.",
  },
  {
    file: "lib/daemon/client.ts",
    source: "messageMs: 30_000,",
    mutation: ["30_000 to 30001", "30_000 to 29999"],
    why: "The client's bound on the time a daemon's whole answer may take, moved by one " +
      "millisecond of 30 seconds: an answer is read the same way, and one that takes 30 s " +
      "fails a millisecond sooner or later.",
    observe: "Only a daemon that answers in exactly 30 s, to the millisecond.",
  },
];

/** The argument for `m`, or null when it has none. */
export function equivalentOf(
  m: {
    readonly file: string;
    readonly source: string;
    readonly before?: string;
    readonly description: string;
  },
): Equivalent | null {
  return EQUIVALENTS.find((e) =>
    e.file === m.file && e.source === m.source &&
    (e.before === undefined || e.before === m.before) &&
    (typeof e.mutation === "string"
      ? e.mutation === m.description
      : e.mutation.includes(m.description))
  ) ?? null;
}
