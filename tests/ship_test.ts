/**
 * Tests of the shipped extras (issue "Shipping"): `--version` against deno.json, the man page
 * (committed file = generated; renders with `man -l` without warnings), shell completions
 * (bash completes actions and options for real), and the permission flags shared by tests,
 * the `run` task and the compiled binaries.
 */

import assert from "node:assert/strict";
import { renderManPage } from "../lib/cli/manpage.ts";
import { actionWords, completionScript } from "../lib/cli/completions.ts";
import { OPTIONS } from "../lib/cli/grammar.ts";
import { completionsHelp } from "../lib/cli/usage.ts";
import { KNOB_REFERENCE } from "../lib/config/reference.ts";
import { JSON_STATUSES } from "../lib/output/json.ts";
import { RUNTIME_FLAGS, RUNTIME_PERMISSIONS, RUNTIME_V8_FLAGS } from "../lib/permissions.ts";
import { programFlags } from "../testing/coverage.ts";
import { programCommand, REPO, runCli, withSpool } from "../testing/harness.ts";
import { have } from "../testing/users.ts";

const denoJson = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`));

// Tools the tests drive; .ci/run installs them, and fails if any of these tests is ignored there.
const HAS_MAN = await have("man") && await have("groff");
const HAS_BASH = await have("bash");
const HAS_ZSH = await have("zsh");
const HAS_FISH = await have("fish");

Deno.test("--version and -v print the version from deno.json", async () => {
  for (const flag of ["--version", "-v"]) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      new RegExp(
        `^condor_store_cred ${
          denoJson.version.replaceAll(".", "\\.")
        } \\(Deno \\d+\\.\\d+\\.\\d+, [\\w-]+\\)\\n$`,
      ),
    );
  }
  // A usage error still wins over --version.
  const bad = await runCli(["--version", "-x"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^ERROR: Unrecognized option - '-x'/);
});

Deno.test("the committed man page is what the grammar generates", async () => {
  const committed = await Deno.readTextFile(`${REPO}/condor_store_cred.1`);
  assert.equal(committed, renderManPage(denoJson.version));
  // Every option of the parser is documented.
  for (const option of OPTIONS) {
    assert.ok(committed.includes(`\\-\\-${option.long.replaceAll("-", "\\-")}`), option.long);
  }
});

Deno.test({
  name: "the man page renders with man -l without warnings (needs man-db, groff)",
  ignore: !HAS_MAN,
  fn: async (t) => {
    const out = await new Deno.Command("man", {
      args: ["--warnings", "-l", `${REPO}/condor_store_cred.1`],
      env: { MANWIDTH: "80", MAN_KEEP_FORMATTING: "0", PAGER: "cat" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    // Strip the overstrike (bold/underline) formatting man emits when not on a terminal.
    // deno-lint-ignore no-control-regex -- backspace is how man marks bold text in plain output
    const stdout = new TextDecoder().decode(out.stdout).replace(/.\x08/g, "");
    await t.step("exit status 0, no warnings", () => {
      assert.equal(out.code, 0);
      assert.equal(new TextDecoder().decode(out.stderr), "");
    });
    await t.step("it shows the synopsis and the options", () => {
      assert.match(stdout, /condor_store_cred action\[-type\] \[options\]/);
      assert.match(stdout, /\n {7}condor_store_cred -f file \[-p password\]\n/);
      for (
        const command of ["list[-type]", "doctor", "serve", "token create", "completions shell"]
      ) {
        assert.ok(stdout.includes(`\n       condor_store_cred ${command}`), command);
      }
      assert.match(stdout, /-i, --input filename/);
    });
    await t.step("it has every section an operator looks for", () => {
      const sections = [...stdout.matchAll(/^([A-Z][A-Z ]+)$/gm)].map((m) => m[1]);
      assert.deepEqual(sections, [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "ACTIONS",
        "TYPES",
        "OPTIONS",
        "COMMANDS",
        "OUTPUT",
        "EXIT STATUS",
        "CONFIGURATION",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "NOTES",
        "SEE ALSO",
      ]);
      const flat = stdout.replace(/\u2010\n\s*/g, "").replace(/\s+/g, " ");
      for (const knob of KNOB_REFERENCE) assert.ok(flat.includes(` ${knob.name} `), knob.name);
      for (const status of JSON_STATUSES) {
        assert.match(flat, new RegExp(` ${status} [a-z]`), status);
      }
      // The exit status a credmon timeout really gives (tests/kerberos_test.ts): stored, exit 1.
      assert.match(
        flat,
        /1 Failure: .*add-krb whose credmon did not answer within CREDD_POLLING_TIMEOUT, whose credential is nevertheless stored/,
      );
      for (
        const path of [
          "/etc/condor/passwords.d/POOL",
          "/var/lib/condor/oauth_credentials/",
          "/var/lib/condor/krb_credentials/",
          "/run/condor/credd.sock",
          "~/.local/share/condor_store_cred/",
        ]
      ) {
        assert.ok(flat.includes(path), path);
      }
      assert.ok(flat.includes("add -c -p - --json"), "the config-management example");
      assert.ok(flat.includes("add-krb -i /tmp/krb5cc_$(id -u)"), "the Kerberos example");
      assert.ok(flat.includes("--min-ttl 600"), "the CI example");
    });
  },
});

Deno.test("completions SHELL prints a script for bash, zsh and fish; others are refused", async () => {
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const r = await runCli(["completions", shell]);
    assert.deepEqual(r, { code: 0, stdout: completionScript(shell), stderr: "" });
  }
  const bad = await runCli(["completions", "tcsh"]);
  assert.deepEqual(bad, {
    code: 1,
    stdout: "",
    stderr: "ERROR: completions needs exactly one shell: bash, zsh, fish\n" + completionsHelp(),
  });
  assert.equal((await runCli(["completions"])).code, 1);
});

/** Runs the bash completion function for a command line and returns the candidates. */
async function bashComplete(words: string[], cwd = "/"): Promise<string[]> {
  const script = completionScript("bash");
  const program = [
    script,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
    `COMP_CWORD=${words.length - 1}`,
    "_condor_store_cred",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["--norc", "-c", program],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
}

Deno.test({
  name: "the bash completion completes actions, options and file names (needs bash)",
  ignore: !HAS_BASH,
  fn: async () => {
    assert.deepEqual(await bashComplete(["condor_store_cred", "ad"]), [
      "add",
      "add-krb",
      "add-oauth",
      "add-pwd",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "q"]), [
      "query",
      "query-krb",
      "query-oauth",
      "query-pwd",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "co"]), ["completions"]);
    // The commands beyond add, delete and query, with their own options.
    assert.deepEqual(await bashComplete(["condor_store_cred", "li"]), [
      "list",
      "list-krb",
      "list-oauth",
      "list-pwd",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "d"]), [
      "delete",
      "delete-krb",
      "delete-oauth",
      "delete-pwd",
      "doctor",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "doctor", "-"]), [
      "--debug",
      "--help",
      "--json",
      "-d",
      "-h",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "list-oauth", "--t"]), [
      "--token-file",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "serve", "-"]), [
      "--debug",
      "--help",
      "-d",
      "-h",
    ]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "token", ""]), ["create"]);
    assert.deepEqual(await bashComplete(["condor_store_cred", "token", "create", "-i"]), [
      "-identity",
    ]);
    // Upstream's options are not offered where a command does not take them.
    assert.deepEqual(await bashComplete(["condor_store_cred", "list", "-P"]), []);
    assert.deepEqual(await bashComplete(["condor_store_cred", "add-oauth", "--s"]), [
      "--scopes",
      "--service",
    ]);
    assert.deepEqual(
      await bashComplete(["condor_store_cred", "query", "-"]),
      [
        ...OPTIONS.flatMap((o) => [...(o.short ? [`-${o.short}`] : []), `--${o.long}`]),
      ].sort(),
    );
    assert.deepEqual(await bashComplete(["condor_store_cred", "completions", "z"]), ["zsh"]);
    // -i completes file names; -s completes nothing.
    await withSpool(async (spool) => {
      await Deno.writeTextFile(`${spool.root}/token.json`, "{}");
      assert.deepEqual(
        await bashComplete(["condor_store_cred", "add-oauth", "-i", "tok"], spool.root),
        [
          "token.json",
        ],
      );
      assert.deepEqual(
        await bashComplete(["condor_store_cred", "add-oauth", "-s", "tok"], spool.root),
        [],
      );
    });
    assert.equal(actionWords().length, 12);
  },
});

Deno.test({
  name: "zsh and fish completions are valid scripts for those shells (needs zsh, fish)",
  ignore: !HAS_ZSH || !HAS_FISH,
  fn: async () => {
    for (const [shell, args] of [["zsh", ["-n"]], ["fish", ["--no-execute"]]] as const) {
      const file = await Deno.makeTempFile({ suffix: `.${shell}` });
      try {
        await Deno.writeTextFile(file, completionScript(shell));
        const out = await new Deno.Command(shell, { args: [...args, file], stderr: "piped" })
          .output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      } finally {
        await Deno.remove(file);
      }
    }
  },
});

/** Runs a shell script with `shell` and returns its stdout (stderr must be empty). */
async function shellOutput(shell: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(shell, {
    args,
    cwd: "/",
    env: { HOME: "/nonexistent", PATH: "/usr/local/bin:/usr/bin:/bin" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "the fish completion completes actions, options and shells (needs fish)",
  ignore: !HAS_FISH,
  fn: async () => {
    const file = await Deno.makeTempFile({ suffix: ".fish" });
    try {
      await Deno.writeTextFile(file, completionScript("fish"));
      // `complete -C LINE` prints fish's candidates for LINE: word, tab, description.
      const complete = async (line: string) =>
        (await shellOutput("fish", ["--no-config", "-c", `source ${file}; complete -C '${line}'`]))
          .split("\n").filter(Boolean).map((l) => l.split("\t")[0]).sort();
      assert.deepEqual(await complete("condor_store_cred del"), [
        "delete",
        "delete-krb",
        "delete-oauth",
        "delete-pwd",
      ]);
      assert.deepEqual(await complete("condor_store_cred add-oauth --s"), [
        "--scopes",
        "--service",
      ]);
      assert.deepEqual(await complete("condor_store_cred completions "), ["bash", "fish", "zsh"]);
      assert.deepEqual(await complete("condor_store_cred li"), [
        "list",
        "list-krb",
        "list-oauth",
        "list-pwd",
      ]);
      assert.deepEqual(await complete("condor_store_cred token "), ["create"]);
      assert.deepEqual(await complete("condor_store_cred doctor --"), [
        "--debug",
        "--help",
        "--json",
      ]);
      assert.deepEqual(await complete("condor_store_cred token create -l"), ["-lifetime"]);
      const options = OPTIONS.flatMap((o) => [...(o.short ? [`-${o.short}`] : []), `--${o.long}`]);
      assert.deepEqual(await complete("condor_store_cred query -"), options.sort());
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "the zsh completion registers itself with compinit (needs zsh)",
  ignore: !HAS_ZSH,
  fn: async () => {
    const file = await Deno.makeTempFile({ suffix: ".zsh" });
    try {
      await Deno.writeTextFile(file, completionScript("zsh"));
      const out = await shellOutput("zsh", [
        "-f",
        "-c",
        `autoload -U compinit; compinit -u -D; source ${file}; print -r -- \${_comps[condor_store_cred]}`,
      ]);
      assert.equal(out, "_condor_store_cred\n");
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("the run task and the tests use the same flags (RUNTIME_FLAGS: permissions, then V8 flags)", () => {
  const task: string = denoJson.tasks.run;
  assert.equal(task, `deno run --quiet ${RUNTIME_FLAGS.join(" ")} main.ts`);
  assert.deepEqual(RUNTIME_FLAGS, [
    ...RUNTIME_PERMISSIONS,
    `--v8-flags=${RUNTIME_V8_FLAGS.join(",")}`,
  ]);
  assert.equal(RUNTIME_PERMISSIONS.includes("-A"), false);
  assert.equal(RUNTIME_PERMISSIONS.includes("--allow-all"), false);
  assert.equal(RUNTIME_PERMISSIONS.some((p) => p === "--allow-run"), false);
});

Deno.test("the black-box tests run CSC_TARGET (a bundle or a binary) when set, else main.ts", async () => {
  const target = Deno.env.get("CSC_TARGET");
  const command = await programCommand();
  if (target !== undefined && !/\.(ts|js)$/.test(target)) {
    assert.deepEqual(command, [target]);
    return;
  }
  // A script runs under this Deno with exactly the program's permission flags (in a coverage
  // run of scripts/mutation/, without the code cache: testing/coverage.ts).
  assert.deepEqual(command, [
    Deno.execPath(),
    "run",
    "--no-config",
    "--quiet",
    ...programFlags(RUNTIME_FLAGS),
    target ?? `${REPO}/main.ts`,
  ]);
});

Deno.test("the README runs the bundle with exactly RUNTIME_FLAGS", async () => {
  // Shell line continuations folded, so the wrapped command reads as one line.
  const readme = (await Deno.readTextFile(`${REPO}/README.md`)).replace(/\\\n\s*/g, "");
  assert.ok(
    readme.includes(`run ${RUNTIME_FLAGS.join(" ")} dist/condor_store_cred/condor_store_cred.js`),
    "the README's bundle command has other flags than lib/permissions.ts",
  );
});

Deno.test("every configuration knob the source reads is in the documented reference, and only those", async () => {
  const read = new Set<string>();
  const patterns = [
    /\b(?:get|getInt|getBool|integer|flag|param|#param)\(\s*"([A-Z][A-Z0-9_]+)"/g,
    /\bknob: "([A-Z][A-Z0-9_]+)"/g,
    /"(SEC_CREDENTIAL_DIRECTORY_[A-Z]+)"/g,
  ];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (
        path.endsWith(".ts") && !path.endsWith("/reference.ts") && !path.endsWith("/knobs.ts")
      ) {
        const text = await Deno.readTextFile(path);
        for (const pattern of patterns) {
          for (const m of text.matchAll(pattern)) read.add(m[1]);
        }
      }
    }
  };
  await walk(`${REPO}/lib`);
  // Knobs the configuration language itself uses while expanding, not settings of this program.
  for (const internal of ["FULL_HOSTNAME", "TILDE", "HOSTNAME"]) read.delete(internal);
  const documented = new Set(KNOB_REFERENCE.map((k) => k.name));
  assert.deepEqual([...read].filter((k) => !documented.has(k)).sort(), [], "read, not documented");
  assert.deepEqual(
    [...documented].filter((k) => !read.has(k)).sort(),
    [],
    "documented, never read",
  );
  // The scan finds knobs at all (a broken pattern would pass the checks above vacuously).
  assert.ok(read.size >= 30, `${read.size} knobs found`);
});

Deno.test("every README or docs/ section the code cites exists", async () => {
  const headings = async (file: string) =>
    new Set(
      [...(await Deno.readTextFile(`${REPO}/${file}`)).matchAll(/^#{1,4} (.+)$/gm)].map((m) =>
        m[1].replaceAll("`", "")
      ),
    );
  const known: Record<string, Set<string>> = {};
  const cited: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) {
        const text = (await Deno.readTextFile(path)).replace(/\n\s*(\*|\/\/)\s*/g, " ");
        for (const m of text.matchAll(/(README|docs\/[a-z_]+\.md) "([^"]+)"/g)) {
          const file = m[1] === "README" ? "README.md" : m[1];
          known[file] ??= await headings(file);
          if (!known[file].has(m[2])) {
            cited.push(`${path.slice(REPO.length + 1)}: ${file} "${m[2]}"`);
          }
        }
      }
    }
  };
  for (const dir of ["lib", "scripts", "testing", "tests"]) await walk(`${REPO}/${dir}`);
  assert.deepEqual(cited, [], "citations of sections that do not exist");
  assert.ok(Object.keys(known).length >= 3, "the scan found citations at all");
});
