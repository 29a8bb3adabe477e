/**
 * A real HTCondor node, laid out as the packages and condor_master lay it out (docs/storage.md
 * table), in a temp directory: the `condor` account (created with `useradd -r` when missing,
 * removed afterwards), `/var/lib/condor` condor 0755, the OAuth directory root:condor 2770, the
 * Kerberos directory root 0755, `/etc/condor/passwords.d` root 0700, and the stand-ins for the
 * credmons and the OAuth web flow (testing/standins/). Needs root.
 */

import { baseEnv, readText, REPO, runCli, type RunOptions, type RunResult } from "./harness.ts";
import { type Credmon, startCredmon } from "./credmon.ts";
import { setprivAs, type TestUser, withCondorUser } from "./users.ts";

/** The node fixture. */
export interface Node {
  readonly root: string;
  readonly condor: TestUser;
  readonly config: string;
  /** SEC_CREDENTIAL_DIRECTORY_OAUTH (root:condor 2770). */
  readonly oauth: string;
  /** SEC_CREDENTIAL_DIRECTORY_KRB (root 0755). */
  readonly krb: string;
  /** SEC_PASSWORD_FILE. */
  readonly pool: string;
  /** SEC_CREDENTIAL_DIRECTORY_PWD. */
  readonly pwd: string;
  readonly env: Record<string, string>;
  /** Runs the program against this node. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts the credmon stand-in of `mode` on its directory (stopped when the fixture ends). */
  credmon(
    mode: "krb" | "oauth",
    options?: { ignore?: boolean; delayMs?: number },
  ): Promise<Credmon>;
  /** The OAuth web flow completing a login of `user` for `provider` (files written as condor). */
  webFlow(user: string, provider: string): Promise<void>;
  /** Runs a shell command as the condor user; returns its exit code. */
  asCondor(command: string): Promise<number>;
}

/** Options of `withNode`. */
export interface NodeOptions {
  /** Extra configuration lines. */
  readonly config?: string;
  /** Leave the credential directories missing (the program then creates them). */
  readonly bare?: boolean;
}

const decoder = new TextDecoder();

async function sh(argv: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: await baseEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Runs `fn` with a fresh node layout; everything it made is removed afterwards. */
export async function withNode<T>(
  fn: (node: Node) => Promise<T>,
  options: NodeOptions = {},
): Promise<T> {
  return await withCondorUser(async (condor) => {
    const root = await Deno.makeTempDir({ prefix: "csc-node-" });
    const credmons: Credmon[] = [];
    try {
      await Deno.chmod(root, 0o755);
      const lib = `${root}/var/lib/condor`;
      const etc = `${root}/etc/condor`;
      await Deno.mkdir(lib, { recursive: true, mode: 0o755 });
      await Deno.mkdir(`${etc}/passwords.d`, { recursive: true, mode: 0o700 });
      for (const dir of [`${root}/var`, `${root}/var/lib`, `${root}/etc`, etc]) {
        await Deno.chmod(dir, 0o755);
      }
      await Deno.chown(lib, condor.uid, condor.gid);
      const oauth = `${lib}/oauth_credentials`;
      const krb = `${lib}/krb_credentials`;
      if (!options.bare) {
        await Deno.mkdir(oauth);
        await Deno.chown(oauth, 0, condor.gid);
        await Deno.chmod(oauth, 0o2770);
        await Deno.mkdir(krb);
        await Deno.chmod(krb, 0o755);
      }
      const config = `${etc}/condor_config`;
      const pool = `${etc}/passwords.d/POOL`;
      const pwd = `${lib}/pwd_credentials`;
      await Deno.writeTextFile(
        config,
        [
          `SEC_PASSWORD_FILE = ${pool}`,
          `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${oauth}`,
          `SEC_CREDENTIAL_DIRECTORY_KRB = ${krb}`,
          `SEC_CREDENTIAL_DIRECTORY_PWD = ${pwd}`,
          "UID_DOMAIN = node.example",
          "CREDD_POLLING_TIMEOUT = 10",
          "CRED_LOCK_TIMEOUT = 5",
          options.config ?? "",
          "",
        ].join("\n"),
      );
      const env = { CONDOR_CONFIG: config };
      const node: Node = {
        root,
        condor,
        config,
        oauth,
        krb,
        pool,
        pwd,
        env,
        run: (args, runOptions = {}) =>
          runCli(args, { ...runOptions, env: { ...env, ...runOptions.env } }),
        async credmon(mode, credmonOptions = {}) {
          const credmon = await startCredmon(mode === "krb" ? krb : oauth, {
            mode,
            log: `${root}/credmon-${mode}.log`,
            ...credmonOptions,
          });
          credmons.push(credmon);
          return credmon;
        },
        async webFlow(user, provider) {
          // The web app runs as condor, which may not read this checkout (a 0700 clone, a home
          // directory): it runs a copy in the node's root (0755).
          const script = `${root}/webflow.py`;
          await Deno.copyFile(`${REPO}/testing/standins/webflow.py`, script);
          await Deno.chmod(script, 0o644);
          const r = await sh([
            ...setprivAs(condor),
            "/usr/bin/python3",
            script,
            oauth,
            user,
            provider,
          ]);
          if (r.code !== 0) throw new Error(`web flow stand-in failed: ${r.output}`);
        },
        async asCondor(command) {
          const r = await sh([
            ...setprivAs(condor),
            "/bin/sh",
            "-c",
            command,
          ]);
          return r.code;
        },
      };
      return await fn(node);
    } finally {
      for (const credmon of credmons) await credmon.stop();
      await Deno.remove(root, { recursive: true });
    }
  });
}

/** The log of a stand-in, for failure messages. */
export async function credmonLog(node: Node, mode: "krb" | "oauth"): Promise<string> {
  return await readText(`${node.root}/credmon-${mode}.log`) ?? "";
}
