/**
 * Scratch copies of the repository for the mutation runs (scripts/mutate.ts): the files git
 * tracks plus the untracked ones it does not ignore, with their modes, in a directory every user
 * may read (the tests run the program as non-root users too).
 */

/** The repository this script belongs to. */
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Copies the repository at `from` (default: this one) to the existing directory `to`. */
export async function copyRepository(to: string, from: string = REPO): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: from,
    stdout: "piped",
  }).output();
  for (const file of new TextDecoder().decode(out.stdout).split("\0").filter(Boolean)) {
    const target = `${to}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${from}/${file}`, target).catch(() => {});
    const mode = (await Deno.stat(`${from}/${file}`).catch(() => null))?.mode;
    if (mode) await Deno.chmod(target, mode & 0o777);
  }
  await Deno.chmod(to, 0o755);
}

/** The commit of `dir` and whether its tree differs from it, e.g. `cbfb9b3` or `cbfb9b3+`. */
export async function describeCommit(dir: string = REPO): Promise<string> {
  const run = async (args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command("git", { args, cwd: dir, stdout: "piped", stderr: "null" }).output())
        .stdout,
    ).trim();
  const commit = await run(["rev-parse", "--short", "HEAD"]);
  const dirty = (await run(["status", "--porcelain"])) !== "";
  return `${commit}${dirty ? "+" : ""}`;
}
