/**
 * lib/json_scan.ts in-process: the walk accepts exactly what JSON.parse accepts as an object (the
 * same generated texts, valid and broken, go to both), reports every member where it lies, tells
 * a cut text from a broken one, and goes as deep as the text does without a call stack.
 */

import assert from "node:assert/strict";
import {
  decodeScalar,
  findMembers,
  forEachElement,
  jsonType,
  keyIs,
  type MemberSpan,
  scanObject,
} from "../lib/json_scan.ts";
import { generator } from "../scripts/random.ts";

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** What JSON.parse says: the object, or null when it is not a JSON object. */
function reference(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value = JSON.parse(strict.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function members(bytes: Uint8Array): [string, unknown][] {
  const out: [string, unknown][] = [];
  const text = (s: number, e: number) => JSON.parse(new TextDecoder().decode(bytes.subarray(s, e)));
  scanObject(bytes, (m) => out.push([text(m.keyStart, m.keyEnd), text(m.valueStart, m.valueEnd)]));
  return out;
}

const PIECES = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "\n",
  '"',
  '"a"',
  '"\\u00e9"',
  '"\\ud800"',
  '"\\x"',
  "\\",
  "0",
  "-",
  "1.5",
  "1e5",
  "1E+2",
  "01",
  "1.",
  ".5",
  "-0",
  "true",
  "tru",
  "null",
  "nul",
  "false",
  "é",
  "\u2028",
  "\u0001",
  "\t",
  '"k":',
  '"k":1',
  "{}",
  "[]",
  '{"a":[1,{"b":null}]}',
  "\ufeff",
];

/** A random JSON value (as text, with random white space), `depth` levels at most. */
function randomJson(g: ReturnType<typeof generator>, depth: number): string {
  const ws = () => g.pick(["", "", " ", "\n", "\t ", "\r\n"]);
  const kind = g.int(depth > 0 ? 7 : 4);
  if (kind === 0) return g.pick(["0", "-1", "1.5e-3", "12345678901234567890", "1E400", "-0.0"]);
  if (kind === 1) {
    return g.pick(['"a"', '""', '"\\u00e9\\n"', '"é\u2028"', '"\\"\\\\"', '"__proto__"']);
  }
  if (kind === 2) return g.pick(["true", "false", "null"]);
  if (kind === 3) return JSON.stringify("s".repeat(g.int(5)));
  const n = g.int(4);
  const parts = Array.from({ length: n }, () => randomJson(g, depth - 1));
  if (kind === 4) return `[${ws()}${parts.join(`${ws()},${ws()}`)}${ws()}]`;
  const keys = ["a", "b", "scopes", "__proto__", "constructor", "A"];
  return `{${ws()}${
    parts.map((p) => `${JSON.stringify(g.pick(keys))}${ws()}:${ws()}${p}`).join(`,${ws()}`)
  }${ws()}}`;
}

Deno.test("scanObject() accepts exactly the texts JSON.parse reads as an object", () => {
  const g = generator(7);
  let objects = 0;
  for (let n = 0; n < 20_000; n++) {
    let text: string;
    if (g.next() < 0.5) {
      text = "";
      const length = 1 + g.int(12);
      for (let k = 0; k < length; k++) text += g.pick(PIECES);
      if (g.next() < 0.5) text = `{${text}}`;
    } else {
      text = g.next() < 0.8 ? `{"k":${randomJson(g, 4)}}` : randomJson(g, 4);
      // Mutations: a character dropped, a piece inserted, the end cut.
      const at = g.int(text.length + 1);
      const mutation = g.int(6);
      if (mutation === 0) text = text.slice(0, at) + text.slice(at + 1);
      if (mutation === 1) text = text.slice(0, at) + g.pick(PIECES) + text.slice(at);
      if (mutation === 2) text = text.slice(0, at);
    }
    let bytes = encoder.encode(text);
    if (g.next() < 0.05) bytes = Uint8Array.from([...bytes, g.int(256)]);
    const expected = reference(bytes);
    const result = scanObject(bytes, () => {});
    assert.equal(result, expected === null ? "invalid" : "object", JSON.stringify(text));
    if (expected !== null) {
      objects++;
      // Every member, in order; the last of duplicates is what JSON.parse kept.
      const seen = new Map(members(bytes));
      assert.deepEqual(Object.fromEntries(seen), expected, text);
    }
  }
  assert.ok(objects > 5000, `only ${objects} generated texts were objects`);
});

Deno.test("scanObject() refuses invalid UTF-8 as JSON.parse after a strict decode does", () => {
  const cases: [number[], boolean][] = [
    [[0xc3, 0xa9], true], // é
    [[0xc0, 0xaf], false], // overlong /
    [[0xe0, 0x80, 0xaf], false], // overlong
    [[0xed, 0xa0, 0x80], false], // a surrogate
    [[0xf4, 0x90, 0x80, 0x80], false], // above U+10FFFF
    [[0xf0, 0x9f, 0x98, 0x80], true], // an emoji
    [[0xff], false],
    [[0x80], false],
    [[0xe2, 0x80], false], // cut short
  ];
  for (const [raw, valid] of cases) {
    const bytes = Uint8Array.from([...encoder.encode('{"a":"'), ...raw, ...encoder.encode('"}')]);
    assert.equal(scanObject(bytes, () => {}), valid ? "object" : "invalid", raw.join(","));
    assert.equal(reference(bytes) !== null, valid);
  }
  // A byte order mark is skipped, as TextDecoder does.
  assert.equal(scanObject(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), () => {}), "object");
});

Deno.test("scanObject() tells a text cut short (partial) from a broken one", () => {
  const whole = encoder.encode('{"scopes":"a b","n":[1,2,{"x":"é"}],"audience":"aud"}');
  const seen: string[] = [];
  for (let cut = 1; cut < whole.length; cut++) {
    const prefix = whole.subarray(0, cut);
    const names: string[] = [];
    const result = scanObject(
      prefix,
      (m) => names.push(String(decodeScalar(prefix, m.keyStart, m.keyEnd))),
      {
        partial: true,
      },
    );
    assert.equal(result, "truncated", `cut at ${cut}`);
    assert.equal(scanObject(prefix, () => {}), "invalid");
    seen.push(names.join(","));
  }
  assert.ok(seen.includes("scopes,n"));
  assert.equal(scanObject(encoder.encode('{"a":1,]'), () => {}, { partial: true }), "invalid");
  assert.equal(scanObject(whole, () => {}, { partial: true }), "object");
});

Deno.test("scanObject() walks a million levels of nesting without a call stack", () => {
  const depth = 1_000_000;
  const text = `{"a":${"[".repeat(depth)}${"]".repeat(depth)},"b":"x"}`;
  const bytes = encoder.encode(text);
  const spans: MemberSpan[] = [];
  assert.equal(scanObject(bytes, (m) => spans.push(m)), "object");
  assert.equal(spans.length, 2);
  assert.equal(jsonType(bytes, spans[0].valueStart), "array");
  assert.equal(decodeScalar(bytes, spans[1].valueStart, spans[1].valueEnd), "x");
  assert.equal(scanObject(bytes.subarray(0, bytes.length - 10), () => {}), "invalid");
});

Deno.test("findMembers() and keyIs() find keys however they are spelled", () => {
  const bytes = encoder.encode(
    '{"sc\\u006fpes":"first","__proto__":{"scopes":"no"},"scopes":"last","SCOPES":1,' +
      '"aud":["a",2]}',
  );
  const { result, found } = findMembers(bytes, ["scopes", "aud", "constructor"]);
  assert.equal(result, "object");
  const scopes = found.get("scopes")!;
  assert.equal(decodeScalar(bytes, scopes.valueStart, scopes.valueEnd), "last");
  assert.equal(found.has("constructor"), false);
  let upper = 0;
  scanObject(bytes, (m) => {
    if (keyIs(bytes, m, "scopes", { ignoreCase: true })) upper++;
  });
  assert.equal(upper, 3);
  const kinds: string[] = [];
  assert.equal(
    forEachElement(bytes, found.get("aud")!, (e) => kinds.push(jsonType(bytes, e.valueStart))),
    true,
  );
  assert.deepEqual(kinds, ["string", "number"]);
  assert.equal(forEachElement(bytes, scopes, () => {}), false);
});
