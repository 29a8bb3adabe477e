/**
 * The floor of the daemon benchmark (scripts/bench/daemon.ts): Deno's own HTTP server
 * (`Deno.serve`) on a Unix socket, answering the daemon's paths with fixed replies and doing no
 * work, so that the load generator (scripts/bench_load.ts) runs against it unchanged. A challenge
 * is answered with a well-formed one inside the challenge directory (the client creates its file,
 * which nobody checks); every other POST with a fixed successful reply. What the daemon reaches
 * against this floor, with the same clients in the same run, is what its own work costs.
 *
 * Usage: deno run -A scripts/bench/floor_server.ts SOCKET CHALLENGE_DIR
 * Prints "serving on SOCKET" on stderr once it listens; stops on SIGTERM. Scripts only.
 */

const [socket, challengeDir] = Deno.args;
if (socket === undefined || challengeDir === undefined) {
  console.error("usage: floor_server.ts SOCKET CHALLENGE_DIR");
  Deno.exit(2);
}

const CHALLENGE_PREFIX = ".csc-challenge-";
const REPLY = JSON.stringify({
  version: 1,
  reply: { ok: true, warnings: [], outcome: { status: "success" } },
});
const headers = { "content-type": "application/json" };

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function challenge(): string {
  const id = Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return JSON.stringify({
    version: 1,
    id,
    path: `${challengeDir.replace(/\/+$/, "")}/${CHALLENGE_PREFIX}${id}`,
    nonce: base64Url(crypto.getRandomValues(new Uint8Array(32))),
    expires: Date.now() + 60_000,
  });
}

try {
  Deno.removeSync(socket);
} catch {
  // Not there.
}
const server = Deno.serve({
  transport: "unix",
  path: socket,
  onListen: () => console.error(`serving on ${socket}`),
}, async (request) => {
  // The body is read, as the daemon reads it, and dropped.
  await request.arrayBuffer();
  const path = new URL(request.url).pathname;
  return new Response(path === "/v1/challenge" ? challenge() : REPLY, { headers });
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
