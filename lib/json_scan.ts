/**
 * JSON read without building it: a walk over UTF-8 bytes that checks them against RFC 8259 and
 * reports where the members of an object lie, so that a stored credential of any size or shape
 * costs its bytes and a small stack, never a tree of values (JSON.parse of 1 MiB of nested
 * arrays takes about 40 MB). What the store reads back (scopes, audience, an access token and its
 * claims) and what it writes for `-S`/`-A` go through here. Pure functions; nothing here throws
 * for any input.
 */

/** Where one member of an object lies: the quoted key and the value, as [start, end) offsets. */
export interface MemberSpan {
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

/**
 * How a walk ended: a whole JSON object (only white space after it), text that stopped before the
 * object closed (only with `partial`), or anything else (not JSON, or JSON that is not an object).
 */
export type ScanResult = "object" | "truncated" | "invalid";

/** Thrown inside a walk, caught at its top: the text is not JSON. */
const INVALID = { invalid: true };
/** Thrown inside a walk, caught at its top: the text ended before the value did. */
const TRUNCATED = { truncated: true };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Reads one JSON text; every method throws INVALID or TRUNCATED. */
class Walker {
  constructor(readonly bytes: Uint8Array, readonly end: number) {}

  at(i: number): number {
    if (i >= this.end) throw TRUNCATED;
    return this.bytes[i];
  }

  space(i: number): number {
    while (i < this.end && isSpace(this.bytes[i])) i++;
    return i;
  }

  expect(i: number, c: number): number {
    if (this.at(i) !== c) throw INVALID;
    return i + 1;
  }

  /** A continuation byte of a UTF-8 sequence, within [low, high]. */
  continuation(i: number, low = 0x80, high = 0xbf): void {
    const c = this.at(i);
    if (c < low || c > high) throw INVALID;
  }

  /** The string starting at `i` (its quote); returns the index after its closing quote. */
  string(i: number): number {
    i = this.expect(i, QUOTE);
    while (true) {
      const c = this.at(i);
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH) {
        const e = this.at(i + 1);
        if (e === 0x75) { // \uXXXX
          for (let k = 2; k < 6; k++) if (!isHex(this.at(i + k))) throw INVALID;
          i += 6;
        } else if (
          e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 ||
          e === 0x6e || e === 0x72 || e === 0x74
        ) {
          i += 2;
        } else {
          throw INVALID;
        }
      } else if (c < 0x20) {
        throw INVALID;
      } else if (c < 0x80) {
        i++;
      } else {
        i = this.multibyte(i, c);
      }
    }
  }

  /** A UTF-8 sequence of two to four bytes (Unicode Table 3-7: no overlong, no surrogate). */
  multibyte(i: number, c: number): number {
    if (c >= 0xc2 && c <= 0xdf) {
      this.continuation(i + 1);
      return i + 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
      this.continuation(i + 1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf);
      this.continuation(i + 2);
      return i + 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
      this.continuation(i + 1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf);
      this.continuation(i + 2);
      this.continuation(i + 3);
      return i + 4;
    }
    throw INVALID;
  }

  digits(i: number): number {
    if (!isDigit(this.at(i))) throw INVALID;
    while (isDigit(this.at(i))) i++;
    return i;
  }

  /** A number (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`); returns the index after it. */
  number(i: number): number {
    if (this.at(i) === 0x2d) i++;
    if (this.at(i) === 0x30) i++;
    else i = this.digits(i);
    if (this.at(i) === 0x2e) i = this.digits(i + 1);
    const e = this.at(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = this.at(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      i = this.digits(i);
    }
    return i;
  }

  literal(i: number, word: string): number {
    for (let k = 0; k < word.length; k++) {
      if (this.at(i + k) !== word.charCodeAt(k)) throw INVALID;
    }
    return i + word.length;
  }

  /** A string, number or literal at `i`; returns the index after it. */
  scalar(i: number): number {
    const c = this.at(i);
    if (c === QUOTE) return this.string(i);
    if (c === 0x74) return this.literal(i, "true");
    if (c === 0x66) return this.literal(i, "false");
    if (c === 0x6e) return this.literal(i, "null");
    if (c === 0x2d || isDigit(c)) return this.number(i);
    throw INVALID;
  }

  /** The colon after a member's key, which ends at `i`; returns the index of its value. */
  colon(i: number): number {
    return this.space(this.expect(this.space(i), COLON));
  }

  /**
   * Any value at `i`, nested as deep as the text goes: containers are kept on an explicit stack
   * (one byte per level), so depth costs no call stack. Returns the index after the value.
   */
  value(i: number): number {
    let stack = new Uint8Array(64);
    let depth = 0;
    while (true) {
      // Here a value starts at i.
      const c = this.at(i);
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (depth === stack.length) {
          const bigger = new Uint8Array(stack.length * 2);
          bigger.set(stack);
          stack = bigger;
        }
        stack[depth++] = c;
        i = this.space(i + 1);
        const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (this.at(i) !== close) {
          if (c === OPEN_OBJECT) i = this.colon(this.string(i));
          continue;
        }
        depth--;
        i++;
      } else {
        i = this.scalar(i);
      }
      // Here a value ended at i: close containers until one continues.
      while (true) {
        if (depth === 0) return i;
        i = this.space(i);
        const open = stack[depth - 1];
        const next = this.at(i);
        if (next === COMMA) {
          i = this.space(i + 1);
          if (open === OPEN_OBJECT) i = this.colon(this.string(i));
          break;
        }
        if (next !== (open === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) throw INVALID;
        depth--;
        i++;
      }
    }
  }

  /**
   * The members of the object (`open` is `{`) or the elements of the array (`[`; keys are then
   * -1) at `i`, each reported to `visit`. Returns the index after it.
   */
  container(i: number, visit: (span: MemberSpan) => void, open: number): number {
    const close = open === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
    i = this.space(this.expect(i, open));
    if (this.at(i) === close) return i + 1;
    while (true) {
      let keyStart = -1;
      let keyEnd = -1;
      if (open === OPEN_OBJECT) {
        keyStart = i;
        keyEnd = this.string(i);
        i = this.colon(keyEnd);
      }
      const valueStart = i;
      const valueEnd = this.value(i);
      visit({ keyStart, keyEnd, valueStart, valueEnd });
      i = this.space(valueEnd);
      const c = this.at(i);
      if (c === close) return i + 1;
      if (c !== COMMA) throw INVALID;
      i = this.space(i + 1);
    }
  }
}

/** Options of `scanObject`. */
export interface ScanOptions {
  /**
   * The bytes are the start of a longer text (a bounded read): running out of them before the
   * object closes is "truncated", not "invalid". Default false.
   */
  readonly partial?: boolean;
}

/** True when `bytes` begins with a UTF-8 byte order mark (TextDecoder skips it, and so do we). */
function bomLength(bytes: Uint8Array): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/**
 * Walks the JSON object in `bytes` (UTF-8, an optional byte order mark and white space around
 * it), checking every byte against RFC 8259 including UTF-8 validity, and calls `visit` with each
 * top-level member in order. Members are visited as they are read: when the result is not
 * "object", those visited may be followed by bytes that are not JSON. Time and memory: one pass,
 * plus one byte per level of nesting.
 */
export function scanObject(
  bytes: Uint8Array,
  visit: (span: MemberSpan) => void,
  options: ScanOptions = {},
): ScanResult {
  const walker = new Walker(bytes, bytes.length);
  try {
    const start = walker.space(bomLength(bytes));
    const end = walker.container(start, visit, OPEN_OBJECT);
    return walker.space(end) === bytes.length ? "object" : "invalid";
  } catch (thrown) {
    if (thrown === TRUNCATED) return options.partial ? "truncated" : "invalid";
    if (thrown === INVALID) return "invalid";
    throw thrown;
  }
}

/**
 * Calls `visit` with each element of the array that fills [start, end) of `bytes` (a value span
 * from `scanObject`, already checked; keys are -1). Returns false when it is not an array.
 */
export function forEachElement(
  bytes: Uint8Array,
  span: { valueStart: number; valueEnd: number },
  visit: (element: MemberSpan) => void,
): boolean {
  if (bytes[span.valueStart] !== OPEN_ARRAY) return false;
  try {
    new Walker(bytes, span.valueEnd).container(span.valueStart, visit, OPEN_ARRAY);
    return true;
  } catch (thrown) {
    if (thrown === INVALID || thrown === TRUNCATED) return false;
    throw thrown;
  }
}

/** The JSON types, as a value's first byte tells them. */
export type JsonType = "object" | "array" | "string" | "number" | "boolean" | "null";

/** The type of the (checked) value starting at `start`. */
export function jsonType(bytes: Uint8Array, start: number): JsonType {
  const c = bytes[start];
  if (c === OPEN_OBJECT) return "object";
  if (c === OPEN_ARRAY) return "array";
  if (c === QUOTE) return "string";
  if (c === 0x74 || c === 0x66) return "boolean";
  if (c === 0x6e) return "null";
  return "number";
}

const decoder = new TextDecoder();

/** The text of the (checked) string or number value at [start, end). */
export function decodeScalar(bytes: Uint8Array, start: number, end: number): string | number {
  const text = decoder.decode(bytes.subarray(start, end));
  return JSON.parse(text) as string | number;
}

/**
 * True when the member key at [start, end) (quotes included) decodes to `name`; with
 * `ignoreCase`, to `name` in any case (`toLowerCase`, as a ClassAd compares names). Keys that
 * cannot be `name` are told by their length, without decoding.
 */
export function keyIs(
  bytes: Uint8Array,
  span: { keyStart: number; keyEnd: number },
  name: string,
  options: { readonly ignoreCase?: boolean } = {},
): boolean {
  const length = span.keyEnd - span.keyStart - 2;
  // Each character of a key is at most 6 bytes (\uXXXX) and lower-cases to at least one.
  if (length < 1 || length > name.length * 6) return name === "" && length === 0;
  let plain = !options.ignoreCase && length === name.length;
  for (let k = 0; plain && k < length; k++) {
    plain = bytes[span.keyStart + 1 + k] === name.charCodeAt(k);
  }
  if (plain) return true;
  const key = decodeScalar(bytes, span.keyStart, span.keyEnd) as string;
  return options.ignoreCase ? key.toLowerCase() === name : key === name;
}

/**
 * The spans of the members named `names` in the object of `bytes` (the last of duplicates, as
 * JSON.parse keeps), with how the walk ended. Found members are complete even when the result
 * is "truncated".
 */
export function findMembers(
  bytes: Uint8Array,
  names: readonly string[],
  options: ScanOptions = {},
): { readonly result: ScanResult; readonly found: Map<string, MemberSpan> } {
  const found = new Map<string, MemberSpan>();
  const result = scanObject(bytes, (span) => {
    for (const name of names) if (keyIs(bytes, span, name)) found.set(name, span);
  }, options);
  return { result, found };
}
