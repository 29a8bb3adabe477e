/**
 * No secret in any output: every way a credential can be given (argv, stdin, file, prompt),
 * with and without -d and --json, on every path a run can take (success, a refused directory, a
 * bad name, a too-large input, an untrusted Vault host, an unwritable audit log, a credmon
 * timeout). The secret must never appear on stdout or stderr.
 */

import assert from "node:assert/strict";
import { runCli, type Spool, startCredmon, withSpool } from "../testing/harness.ts";

const SECRET = "S3cr3t-VALUE-7f2a";

/** A way to hand the program the secret: extra arguments and stdin. */
interface Form {
  readonly name: string;
  readonly types: readonly string[];
  readonly args: (spool: Spool) => string[];
  readonly stdin?: string;
}

const FORMS: readonly Form[] = [
  { name: "-p VALUE", types: ["", "-pwd"], args: () => ["-p", SECRET] },
  { name: "-p -", types: ["", "-pwd"], args: () => ["-p", "-"], stdin: SECRET },
  { name: "prompt (piped)", types: ["", "-pwd"], args: () => [], stdin: `${SECRET}\n` },
  { name: "-i -", types: ["-krb", "-oauth"], args: () => ["-i", "-"], stdin: SECRET },
  {
    name: "-i FILE",
    types: ["", "-krb", "-oauth"],
    args: (spool) => ["-i", `${spool.root}/secret-file`],
  },
  {
    name: "-i - (Vault JSON)",
    types: ["-oauth"],
    args: () => ["-i", "-"],
    stdin: JSON.stringify({ vault_token: SECRET, vault_url: "https://vault.evil.example/" }),
  },
];

/** A path through the program: how to arrange it and what to add to the command line. */
interface Path {
  readonly name: string;
  readonly arrange?: (spool: Spool) => Promise<void>;
  readonly args?: readonly string[];
  readonly env?: (spool: Spool) => Record<string, string>;
}

const PATHS: readonly Path[] = [
  { name: "success" },
  {
    name: "insecure store directories",
    arrange: async (spool) => {
      for (const dir of [spool.krb, spool.oauth, spool.pwd, `${spool.root}/spool/passwords.d`]) {
        await Deno.mkdir(dir, { recursive: true });
        await Deno.chmod(dir, 0o777);
      }
    },
  },
  { name: "bad user name", args: ["-u", "bad name@test.example"] },
  {
    name: "too large",
    env: () => ({}),
    arrange: async (spool) => {
      await Deno.writeTextFile(`${spool.root}/secret-file`, SECRET + "x".repeat(1 << 20));
    },
  },
  {
    name: "untrusted Vault host",
    env: () => ({ _CONDOR_TRUSTED_VAULT_HOSTS: "vault.example" }),
  },
  {
    name: "unwritable audit log",
    env: (spool) => ({ _CONDOR_CRED_AUDIT_LOG: `${spool.root}/no/such/dir/audit.log` }),
  },
  {
    name: "credmon timeout",
    env: () => ({ _CONDOR_CREDD_POLLING_TIMEOUT: "1" }),
  },
];

const MODES: readonly string[][] = [[], ["-d"], ["--json"], ["-d", "--json"]];

Deno.test("no input form, on no path, with or without -d and --json, prints the secret", async () => {
  let runs = 0;
  for (const path of PATHS) {
    await withSpool(async (spool) => {
      await Deno.writeTextFile(`${spool.root}/secret-file`, SECRET);
      await path.arrange?.(spool);
      const credmon = path.name === "credmon timeout"
        ? await startCredmon(spool.krb, { mode: "krb", log: `${spool.root}/log`, ignore: true })
        : null;
      try {
        const cases = FORMS.flatMap((form) =>
          form.types.flatMap((type) =>
            MODES.map((mode) => {
              const action = type === "-oauth" ? ["add-oauth", "-s", "svc"] : [`add${type}`];
              return {
                form,
                args: [...action, ...form.args(spool), ...(path.args ?? []), ...mode],
              };
            })
          )
        );
        // Four at a time: the writers of one user serialise on the lock anyway.
        for (let i = 0; i < cases.length; i += 4) {
          await Promise.all(
            cases.slice(i, i + 4).map(async ({ form, args }) => {
              const r = await runCli(args, {
                env: { ...spool.env, ...path.env?.(spool) },
                stdin: form.stdin,
              });
              runs++;
              const where = `${path.name} / ${form.name} / ${args.join(" ")}`;
              assert.equal(r.stdout.includes(SECRET), false, `stdout leaks: ${where}`);
              assert.equal(r.stderr.includes(SECRET), false, `stderr leaks: ${where}`);
              assert.doesNotMatch(r.stderr, /unexpected failure/, where);
            }),
          );
        }
      } finally {
        await credmon?.stop();
      }
    });
  }
  // The matrix really ran: forms × types × paths × modes.
  assert.equal(runs, PATHS.length * FORMS.reduce((n, f) => n + f.types.length, 0) * MODES.length);
});
