/**
 * A credmon stand-in for the black-box tests (ref §6): writes its pid to `<dir>/pid`, records
 * every SIGHUP in a log file, and (unless told to ignore) processes the directory after an
 * optional delay: Kerberos `<user>.cred` → `<user>.cc`; OAuth `<user>/<name>.top` → `.use`.
 *
 * Usage: credmon.ts krb|oauth DIR LOG DELAY_MS process|ignore
 */

const [mode, dir, log, delayArg, behaviour] = Deno.args;
const delay = Number(delayArg);

async function writeAtomically(path: string, data: Uint8Array, fileMode: number) {
  const temp = `${path}.tmp`;
  await Deno.writeFile(temp, data, { mode: fileMode });
  await Deno.chmod(temp, fileMode);
  await Deno.rename(temp, path);
}

async function processKerberos() {
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(.+)\.cred$/.exec(entry.name);
    if (!match || !entry.isFile) continue;
    const cred = await Deno.readFile(`${dir}/${entry.name}`);
    await writeAtomically(`${dir}/${match[1]}.cc`, cred, 0o600);
  }
}

async function processOAuth() {
  for await (const user of Deno.readDir(dir)) {
    if (!user.isDirectory || user.name.startsWith(".")) continue;
    for await (const entry of Deno.readDir(`${dir}/${user.name}`)) {
      const match = /^(.+)\.top$/.exec(entry.name);
      if (!match) continue;
      const use = `${dir}/${user.name}/${match[1]}.use`;
      if (await Deno.lstat(use).then(() => true, () => false)) continue;
      const token = JSON.stringify({ access_token: `at-${match[1]}`, expires_in: 3600 });
      await writeAtomically(use, new TextEncoder().encode(token), 0o400);
    }
  }
}

let queue = Promise.resolve();
Deno.addSignalListener("SIGHUP", () => {
  Deno.writeTextFileSync(log, `HUP ${Date.now()}\n`, { append: true });
  if (behaviour === "ignore") return;
  queue = queue.then(async () => {
    await new Promise((r) => setTimeout(r, delay));
    await (mode === "krb" ? processKerberos() : processOAuth());
    Deno.writeTextFileSync(log, `DONE ${Date.now()}\n`, { append: true });
  });
});
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
await Deno.writeTextFile(`${dir}/pid`, String(Deno.pid), { mode: 0o600 });
console.log("ready");
setInterval(() => {}, 1 << 30);
