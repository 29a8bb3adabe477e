/**
 * Asks a daemon who it takes the caller to be, with the real client (`whoamiCall` of
 * lib/daemon/client.ts), over its socket as the user who runs this, or over TLS with a token.
 * Prints the answer as JSON, or the error on stderr with status 1. For tests that run it as
 * another user (testing/harness.ts `runScriptAs`).
 *
 * Usage: whoami.ts '{"socket":…,"challengeDir":…}' | '{"host":…,"port":…,"ca":FILE,"token":…}'
 */

import { sendLocal, sendRemote, whoamiCall } from "../lib/daemon/client.ts";

const options = JSON.parse(Deno.args[0]) as {
  socket?: string;
  challengeDir?: string;
  host?: string;
  port?: number;
  ca?: string;
  token?: string;
};
try {
  const answer = options.socket !== undefined
    ? await sendLocal(options.socket, options.challengeDir!, whoamiCall())
    : await sendRemote({
      host: options.host!,
      port: options.port!,
      caCerts: [await Deno.readTextFile(options.ca!)],
      token: () => options.token!,
    }, whoamiCall());
  console.log(JSON.stringify(answer));
} catch (error) {
  console.error((error as Error).message);
  Deno.exitCode = 1;
}
