/**
 * The "hostile input" section of scripts/reliability.ts: oversized, empty and malformed
 * credentials, hostile names and malformed configuration files are refused with a clear message
 * and write nothing.
 */

import { listTree, runCli, snapshot, withSpool } from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import { MIB, type Reliability, type ReliabilitySection } from "./harness.ts";

async function hostileSection(ctx: Reliability): Promise<void> {
  const { figures, fail, skip, report } = ctx;
  const rows: (string | number)[][] = [];
  await withSpool(async (spool) => {
    const bigFile = `${spool.root}/big`;
    await Deno.writeFile(bigFile, new Uint8Array(MIB + 1).fill(0x62));
    await Deno.mkdir(`${spool.oauth}/root`, { recursive: true, mode: 0o700 });
    const names: [string, string][] = [
      ["slash", "a/b"],
      ["dot-dot", ".."],
      ["dot", "."],
      ["path traversal", "../../etc"],
      ["newline", "a\nb"],
      ["space", "a b"],
      ["star", "a*"],
      ["300-byte name", "x".repeat(300)],
      ["Cyrillic look-alike", "\u0455citokens"],
      ["fullwidth look-alike", "\uff53citokens"],
      ["empty", ""],
    ];
    const cases: { name: string; args: string[]; stdin?: string | Uint8Array; expect: RegExp }[] =
      [];
    for (const [what, value] of names) {
      cases.push(
        {
          name: `user name: ${what}`,
          args: ["add-krb", "-u", `${value}@test.example`, "-i", "-"],
          stdin: "t",
          // An empty user part is already refused by the command-line parser.
          expect: value === ""
            ? /is not of the form: account@domain/
            : /bad arguments\n {4}the user name/,
        },
        {
          name: `service name: ${what}`,
          args: ["add-oauth", "-s", value, "-i", "-"],
          stdin: "t",
          expect: /bad arguments\n {4}the service name/,
        },
        {
          name: `handle: ${what}`,
          args: ["add-oauth", "-s", "svc", "-H", value || ".", "-i", "-"],
          stdin: "t",
          expect: /bad arguments\n {4}the handle name/,
        },
      );
    }
    cases.push(
      {
        name: "1 MiB + 1 byte through stdin",
        args: ["add-krb", "-i", "-"],
        stdin: new Uint8Array(MIB + 1).fill(0x61),
        expect: /^ERROR: credential is larger than 1048576 bytes\n$/,
      },
      {
        name: "1 MiB + 1 byte through a file",
        args: ["add-oauth", "-s", "svc", "-i", bigFile],
        expect: /^ERROR: credential is larger than 1048576 bytes\n$/,
      },
      {
        name: "256-byte password through -p -",
        args: ["add", "-c", "-p", "-"],
        stdin: "p".repeat(256),
        expect: /^ERROR: credential is larger than 255 bytes\n$/,
      },
      {
        name: "invalid JSON with -S",
        args: ["add-oauth", "-s", "svc", "-S", "a", "-i", "-"],
        stdin: "{not json",
        expect: /^Failure parsing credential as JSON\n/,
      },
      {
        name: "JSON array with -A",
        args: ["add-oauth", "-s", "svc", "-A", "aud", "-i", "-"],
        stdin: "[1,2]",
        expect: /^Failure parsing credential as JSON\n/,
      },
      {
        name: "empty credential",
        args: ["add-oauth", "-s", "svc", "-i", "-"],
        stdin: "",
        expect: /^ERROR: the credential is empty; nothing was stored\n$/,
      },
    );
    // NUL cannot reach a program through argv at all: execve takes C strings.
    skip(
      "NUL bytes in names: argv cannot carry them (execve); NUL in credentials is allowed and stored verbatim",
    );

    for (const c of cases) {
      const before = await snapshot(spool.root);
      const r = await runCli(c.args, { env: spool.env, stdin: c.stdin });
      figures.hostileTried++;
      const refused = r.code === 1 && c.expect.test(r.stderr);
      const wrote = (await snapshot(spool.root)) !== before;
      if (refused) figures.hostileRefused++;
      else fail(`hostile ${c.name}: exit ${r.code}: ${r.stderr.trim()}`);
      if (wrote) {
        figures.hostileWrote++;
        fail(`hostile ${c.name}: something was written`);
      }
      rows.push([c.name, r.code, refused ? "yes" : "NO", wrote ? "YES" : "no"]);
    }

    // A .top with unexpected JSON types, then query.
    await Deno.writeTextFile(`${spool.oauth}/root/odd.top`, '{"scopes":{"a":1},"audience":7}', {
      mode: 0o600,
    });
    const before = await snapshot(spool.root);
    const q = await runCli(["query-oauth", "-s", "odd"], { env: spool.env });
    figures.hostileTried++;
    const ok = q.code === 1 &&
      /^Failure parsing credential as JSON\n {4}the scopes in .* is a JSON object/.test(q.stderr);
    if (ok) figures.hostileRefused++;
    else fail(`hostile .top types: exit ${q.code}: ${q.stderr}`);
    if ((await snapshot(spool.root)) !== before) figures.hostileWrote++;
    rows.push([".top whose scopes is an object (query)", q.code, ok ? "yes" : "NO", "no"]);
  });

  // Malformed configuration files.
  for (
    const [name, text, expect] of [
      ["unterminated continuation", "A = x \\\n", /unterminated line continuation/],
      ["$( without )", "SEC_CREDENTIAL_DIRECTORY_KRB = $(HOME\n", /unterminated macro reference/],
      [
        "recursive macros",
        "SEC_CREDENTIAL_DIRECTORY_KRB = $(B)\nB = $(SEC_CREDENTIAL_DIRECTORY_KRB)\n",
        /recursive macro reference/,
      ],
      ["illegal identifier", "BAD! = 1\n", /Illegal Identifier/],
      ["if without endif", "if true\nA = 1\n", /if without matching endif/],
    ] as const
  ) {
    await withSpool(async (spool) => {
      await Deno.writeTextFile(spool.config, text);
      const r = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
      figures.hostileTried++;
      const refused = r.code === 1 && expect.test(r.stderr) && r.stderr.includes(spool.config);
      const wrote = (await listTree(spool.root)).some((p) => p.startsWith("spool"));
      if (refused) figures.hostileRefused++;
      else fail(`config ${name}: exit ${r.code}: ${r.stderr}`);
      if (wrote) figures.hostileWrote++;
      rows.push([`configuration: ${name}`, r.code, refused ? "yes" : "NO", wrote ? "YES" : "no"]);
    });
  }
  report(
    "## 5. Hostile input",
    "",
    "Each input must be refused with exit 1 and a message naming the problem, and write nothing.",
    "",
    table(["input", "exit", "refused clearly", "wrote anything"], rows),
    "",
  );
}

export const section: ReliabilitySection = { name: "hostile input", run: hostileSection };
