/**
 * The mutation runs stay meaningful (TESTING.md): the listed mutations of scripts/mutate.ts still
 * apply to the code; the generator of scripts/mutation/ makes every kind of mutant, each one
 * valid TypeScript that type-checks; and the runner reports a mutant the tests catch as killed
 * and one they cannot see as survived. (Running the mutations themselves is `deno task mutate`.)
 */

import assert from "node:assert/strict";
import { MUTATIONS } from "../scripts/mutate.ts";
import { EQUIVALENTS } from "../scripts/mutation/equivalent.ts";
import {
  guardFilter,
  nameFilter,
  parseJunit,
  parseLcov,
  testNames,
} from "../scripts/mutation/baseline.ts";
import {
  applyMutant,
  drawOrder,
  findMutants,
  moduleFiles,
  MODULES,
  mutantsOf,
  quotas,
} from "../scripts/mutation/generate.ts";
import plugin, { type Kind, KINDS, type MutantSite } from "../scripts/mutation/operators.ts";
import { runSelection, typeCheckAll, withMutant } from "../scripts/mutation/run.ts";
import { copyRepository } from "../scripts/mutation/tree.ts";
import { REPO } from "../testing/harness.ts";

Deno.test("every mutation of scripts/mutate.ts applies to the current code, once", async () => {
  assert.ok(MUTATIONS.length >= 17, `only ${MUTATIONS.length} mutations`);
  for (const m of MUTATIONS) {
    const text = await Deno.readTextFile(`${REPO}/${m.file}`);
    assert.equal(text.split(m.from).length - 1, 1, `${m.behaviour}: ${m.file}`);
    assert.notEqual(m.from, m.to, m.behaviour);
    for (const test of m.tests) {
      assert.ok((await Deno.stat(`${REPO}/tests/${test}`)).isFile, `${m.behaviour}: ${test}`);
    }
  }
});

Deno.test("every argued-equivalent mutant of scripts/mutation/equivalent.ts names a line of the code", async () => {
  for (const e of EQUIVALENTS) {
    const lines = (await Deno.readTextFile(`${REPO}/${e.file}`)).split("\n").map((l) => l.trim());
    const at = lines.flatMap((l, i) => l === e.source ? [i] : []);
    assert.ok(at.length > 0, `${e.file}: ${e.source}`);
    if (e.before !== undefined) {
      assert.ok(at.some((i) => lines[i - 1] === e.before), `${e.file}: ${e.before}`);
    }
    assert.ok(e.why.length > 20 && e.observe.length > 0, e.source);
  }
});

/** Source with one site of every kind, written so that every mutant of it type-checks. */
const FIXTURE = `// A fixture for the mutation operators.
export const MASK = 0o022;
export async function check(mode: number, size: number, name: string, file: Deno.FsFile) {
  if ((mode & MASK) !== 0 && size < 10) {
    throw new Error("writable " + name);
  }
  if (size >= 3 || !name) return "small";
  const total = size + 1;
  await Promise.resolve(total);
  file.syncSync();
  return \`ok \${total | 0}\`;
}
`;

/** The sites the operators find in `source`, in-process. */
function sites(source: string): MutantSite[] {
  return Deno.lint.runPlugin(plugin, "fixture.ts", source).map((d) => JSON.parse(d.message));
}

Deno.test("the operators make every kind of mutant, each one a valid program that type-checks", async () => {
  const found = sites(FIXTURE);
  const kinds = new Set(found.map((s) => s.kind));
  assert.deepEqual([...kinds].sort(), Object.keys(KINDS).sort());
  const expect: [Kind, string, string][] = [
    ["mask", "0o022 to 0o002", "export const MASK = 0o002;"],
    ["mask", "0o022 to 0o020", "export const MASK = 0o020;"],
    ["bitwise", "& to |", "if ((mode | MASK) !== 0 && size < 10) {"],
    ["equality", "!== to ===", "if ((mode & MASK) === 0 && size < 10) {"],
    ["logical", "&& to ||", "if ((mode & MASK) !== 0 || size < 10) {"],
    ["boundary", "< to <=", "if ((mode & MASK) !== 0 && size <= 10) {"],
    ["constant", "10 to 11", "if ((mode & MASK) !== 0 && size < 11) {"],
    ["constant", "10 to 9", "if ((mode & MASK) !== 0 && size < 9) {"],
    ["boundary", ">= to >", 'if (size > 3 || !name) return "small";'],
    ["negation", "! dropped", 'if (size >= 3 || name) return "small";'],
    ["arithmetic", "+ to -", "const total = size - 1;"],
    ["await-dropped", "await dropped", "Promise.resolve(total);"],
    ["fsync-dropped", "removed: file.syncSync();", ""],
  ];
  for (const [kind, description, line] of expect) {
    const site = found.find((s) => s.kind === kind && s.description === description);
    assert.ok(site, `${kind}: ${description}`);
    const mutated = applyMutant(FIXTURE, site).split("\n");
    assert.ok(mutated.some((l) => l.trim() === line), `${description}: ${mutated.join("\n")}`);
  }
  // The whole if-throw and the whole if-return go.
  const removed = found.filter((s) => s.kind === "check-removed" || s.kind === "refusal-removed");
  assert.deepEqual(removed.map((s) => s.description), [
    "removed: if (...) throw",
    "removed: if (...) return",
  ]);
  assert.doesNotMatch(applyMutant(FIXTURE, removed[0]), /writable/);
  assert.doesNotMatch(applyMutant(FIXTURE, removed[1]), /small/);
  // `return await p` is `return p` outside a try: never generated; inside a try it is.
  const returned = sites(
    "async function f(p: Promise<number>) { return await p; }\n" +
      "async function g(p: Promise<number>) { try { return await p; } catch { return 0; } }\n" +
      "const h = async (p: Promise<number>) => await p;\n",
  ).filter((s) => s.kind === "await-dropped");
  assert.deepEqual(returned.map((s) => s.start), [109]);
  // String concatenation and template literals are left alone: "+" on a string never mutates.
  assert.equal(found.some((s) => FIXTURE.slice(s.start, s.end) === "+" && s.start < 150), false);
  // Every mutant type-checks, in one `deno check`.
  const dir = await Deno.makeTempDir({ prefix: "csc-operators-" });
  try {
    await Deno.mkdir(`${dir}/lib`);
    await Deno.writeTextFile(`${dir}/lib/fixture.ts`, FIXTURE);
    const mutants = mutantsOf("lib/fixture.ts", FIXTURE, found);
    assert.deepEqual((await typeCheckAll(dir, mutants)).map((m) => m.id), mutants.map((m) => m.id));
    // One that does not type-check is discarded.
    const bad = { ...mutants[0], id: "bad", replacement: '"text"' };
    const ok = await typeCheckAll(dir, [mutants[0], bad]);
    assert.deepEqual(ok.map((m) => m.id), [mutants[0].id]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/lib`)].map((e) => e.name), ["fixture.ts"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the generator finds mutants in every module of the tree through deno lint", async () => {
  const files = await moduleFiles(REPO);
  assert.deepEqual([...files.keys()], MODULES.map((m) => m.name));
  const mutants = await findMutants(REPO, ["lib/crypto/scramble.ts", "lib/fs/files.ts"]);
  // The same sites as the plugin run in-process.
  const text = await Deno.readTextFile(`${REPO}/lib/fs/files.ts`);
  assert.deepEqual(
    mutants.filter((m) => m.file === "lib/fs/files.ts").map((m) => [m.start, m.description]),
    mutantsOf("lib/fs/files.ts", text, sites(text)).map((m) => [m.start, m.description]),
  );
  const fsync = mutants.filter((m) => m.kind === "fsync-dropped").map((m) => m.source);
  assert.ok(fsync.includes("file.syncSync();"), fsync.join(", "));
  assert.ok(fsync.includes("await syncDirectory(dir);"), fsync.join(", "));
  assert.ok(fsync.includes("await file.sync();"), fsync.join(", "));
  const mask = mutants.find((m) => m.description === "0o077 to 0o070");
  assert.equal(mask?.source, `if (role === "secret" && (mode & 0o077) !== 0) {`);
  // The seeded order is stable and stratified: each module's own list.
  const a = drawOrder(mutants, 7);
  const b = drawOrder(mutants, 7);
  assert.deepEqual(a.get("crypto")!.map((m) => m.id), b.get("crypto")!.map((m) => m.id));
  assert.notDeepEqual(
    drawOrder(mutants, 8).get("fs")!.map((m) => m.id),
    a.get("fs")!.map((m) => m.id),
  );
  assert.ok(a.get("crypto")!.every((m) => m.module === "crypto"));
});

Deno.test("quotas() give every module its minimum and share the rest by size, exactly", () => {
  const q = quotas(new Map([["a", 1000], ["b", 100], ["c", 5], ["d", 0]]), 60, 10);
  assert.deepEqual(Object.fromEntries(q), { a: 45, b: 10, c: 5, d: 0 });
  assert.equal([...q.values()].reduce((x, y) => x + y, 0), 60);
  assert.deepEqual(Object.fromEntries(quotas(new Map([["a", 3]]), 10, 12)), { a: 3 });
  assert.deepEqual(Object.fromEntries(quotas(new Map([["a", 3], ["b", 50]]), 20, 2)), {
    a: 2,
    b: 18,
  });
});

Deno.test("the baseline's readers: JUnit cases, lcov lines, the test filters", () => {
  const xml =
    `<testsuite><testcase name="a &quot;b&quot; &lt;c&gt; &amp; d" classname="x" time="0.5">
        </testcase><testcase name="f" classname="x" time="1.25"><failure message="boom &amp; more">x</failure></testcase>
        <testcase name="s" classname="x" time="0"><skipped/></testcase></testsuite>`;
  assert.deepEqual(parseJunit(xml), [
    { name: 'a "b" <c> & d', seconds: 0.5, passed: true, failure: "" },
    { name: "f", seconds: 1.25, passed: false, failure: "boom & more" },
  ]);
  // Line 1 ran (a count); 3 ran (a branch taken); 6 ran (the next line, 7, did: an
  // `if (x) throw e;` that never threw); 4 and 5 did not.
  const lcov = "SF:/r/lib/a.ts\nDA:1,2\nDA:3,0\nDA:4,0\nDA:5,0\nDA:6,0\nDA:7,1\n" +
    "BRDA:3,1,0,0\nBRDA:3,1,1,2\nBRDA:4,1,0,-\nend_of_record\nSF:/elsewhere/b.ts\nDA:5,1\n";
  assert.deepEqual([...parseLcov(lcov, "/r")], [["lib/a.ts", new Set([1, 3, 6, 7])]]);
  const filter = nameFilter(["f(x) [a] ok?", "a/b.c"]);
  const re = new RegExp(filter.slice(1, -1));
  assert.ok(re.test("f(x) [a] ok?") && re.test("a/b.c"));
  assert.ok(!re.test("f(x) [a] ok") && !re.test("a/b.cd") && !re.test("xa/b.c"));
  assert.deepEqual(testNames(xml), ['a "b" <c> & d', "f", "s"]);
});

Deno.test("the baseline leaves out the costly tests that guard nothing: service_test's 1,200 processes", async () => {
  const filter = await guardFilter("tests/service_test.ts", REPO);
  assert.ok(filter !== null);
  const service = new RegExp(filter.slice(1, -1));
  assert.equal(
    service.test(
      "1,200 mixed requests from three callers in one process match 1,200 separate processes",
    ),
    false,
  );
  assert.equal(
    service.test(
      "the service refuses bad names and other callers' credentials itself; nothing is written",
    ),
    true,
  );
  assert.equal(await guardFilter("tests/fs_test.ts", REPO), null);
});

const BOUNDS = { budgetSeconds: 300, hangFactor: 3 };

Deno.test("a mutant the tests catch is reported killed; one they cannot see, survived", async () => {
  const scratch = await Deno.makeTempDir({ prefix: "csc-mutate-test-" });
  try {
    await copyRepository(scratch);
    const all = await findMutants(scratch, ["lib/crypto/equal.ts"]);
    // The signature comparison's length check (lib/auth/idtoken.ts compares through it), issue 23.
    const mutant = all.find((m) =>
      m.kind === "refusal-removed" && m.source === "if (a.length !== b.length) return false;"
    );
    assert.ok(mutant, "the length check's mutant");
    assert.deepEqual(await typeCheckAll(scratch, [mutant]), [mutant]);
    const killer = "verifyToken() refuses a valid signature with bytes appended, a truncated " +
      "one and an empty one";
    await withMutant(scratch, mutant, async () => {
      const text = await Deno.readTextFile(`${scratch}/lib/crypto/equal.ts`);
      assert.equal(text.includes("if (a.length !== b.length) return false;"), false);
      const killed = await runSelection(scratch, [
        { file: "tests/idtoken_test.ts", names: [killer], seconds: 1 },
      ], BOUNDS);
      assert.equal(killed.status, "killed");
      assert.equal(killed.killer, `tests/idtoken_test.ts: ${killer}`);
      const unseen = await runSelection(scratch, [
        {
          file: "tests/idtoken_test.ts",
          names: ["verifyToken() refuses a flipped signature byte"],
          seconds: 1,
        },
      ], BOUNDS);
      assert.equal(unseen.status, "survived");
      assert.equal((await runSelection(scratch, [], BOUNDS)).status, "no-coverage");
    });
    // Restored afterwards.
    assert.equal(
      await Deno.readTextFile(`${scratch}/lib/crypto/equal.ts`),
      await Deno.readTextFile(`${REPO}/lib/crypto/equal.ts`),
    );
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("a test that hangs under a mutant counts as a kill; a survivor out of budget stays a survivor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-bounds-" });
  try {
    await Deno.mkdir(`${dir}/tests`);
    await Deno.writeTextFile(
      `${dir}/tests/x_test.ts`,
      'Deno.test("quick", () => {});\n' +
        'Deno.test("slow", async () => { await new Promise((r) => setTimeout(r, 600_000)); });\n',
    );
    const selection = (slow: number) => [{
      file: "tests/x_test.ts",
      names: ["quick", "slow"],
      seconds: slow,
      testSeconds: { quick: 0, slow },
    }];
    // "slow" took 0 s in the baseline: still running after 2 s is a hang.
    const hang = await runSelection(dir, selection(0), {
      budgetSeconds: 300,
      hangFactor: 3,
      hangGraceSeconds: 2,
    });
    assert.deepEqual([hang.status, hang.killer, hang.finished], ["timeout", "slow", 1]);
    // It took 100 s in the baseline, but the mutant's budget is 3 s: stopped, a survivor.
    const budget = await runSelection(dir, selection(100), {
      budgetSeconds: 3,
      hangFactor: 3,
      hangGraceSeconds: 2,
    });
    assert.deepEqual([budget.status, budget.finished], ["survived", 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
