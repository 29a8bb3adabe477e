/**
 * Who writes the audit log (README "Configuration", knob CRED_AUDIT_LOG; issue 21 item 10): the
 * process that performs a request. A client whose request is for a daemon never writes the
 * daemon's log, not even to record a refusal when the daemon is down.
 */

import assert from "node:assert/strict";
import { exists, runCli, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

Deno.test({
  name: "with the daemon down, a non-root client never tries to write the server's audit log " +
    "(needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const logDir = `${spool.root}/log`;
      await Deno.mkdir(logDir, { mode: 0o755 });
      const log = `${logDir}/audit.log`;
      const env = {
        ...spool.env,
        _CONDOR_CRED_AUDIT_LOG: log,
        _CONDOR_CREDD_SOCKET: `${spool.root}/run/credd.sock`,
      };
      for (
        const [args, stdin] of [
          [["add-oauth", "-s", "s", "-P", "-i", "-"], "t"],
          [["add-oauth", "-s", "bad/name", "-P", "-i", "-"], "t"],
          [["delete-krb"], undefined],
        ] as const
      ) {
        const r = await runCli([...args], { env, stdin, user: tester });
        assert.equal(r.code, 1, args.join(" "));
        assert.doesNotMatch(r.stderr, /audit/i, args.join(" "));
        assert.doesNotMatch(r.stderr + r.stdout, new RegExp(logDir), args.join(" "));
      }
      assert.equal(await exists(log), false);
      // Root's own refusals, performed here, are still recorded.
      const root = await runCli(["add-oauth", "-s", "bad/name", "-P", "-i", "-"], {
        env,
        stdin: "t",
      });
      assert.equal(root.code, 1);
      assert.match(await Deno.readTextFile(log), /"result":"bad-args"/);
    });
  },
});
