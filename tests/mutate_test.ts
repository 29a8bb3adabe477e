/**
 * The mutation list of scripts/mutate.ts (`deno task mutate`) stays applicable: every mutation's
 * text occurs exactly once in its file, and names tests that exist. (Running the mutations takes a
 * minute; the task does that, and fails unless every one is caught.)
 */

import assert from "node:assert/strict";
import { MUTATIONS } from "../scripts/mutate.ts";
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
