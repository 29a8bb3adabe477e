/** Pure path helpers for POSIX paths (the store never runs on Windows: docs/storage.md, README). */

/** The directory part of a path (`.` for a bare name). */
export function dirname(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") : path;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}

/** The last component of a path. */
export function basename(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") : path;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Joins path components with `/`, collapsing repeated slashes. */
export function join(...parts: string[]): string {
  const joined = parts.join("/");
  if (!joined.includes("//")) return joined;
  // A loop rather than a regular expression, which would be compiled on first use (this is on
  // every command's path: joining onto `/`).
  let out = "";
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] !== "/" || joined[i - 1] !== "/") out += joined[i];
  }
  return out;
}

/** Formats a mode as four octal digits, e.g. `0644`. */
export function octal(mode: number): string {
  return "0" + (mode & 0o7777).toString(8).padStart(3, "0");
}

/** The components of a path, without empty and `.` parts (`..` is kept). */
export function components(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** The largest file name this program creates or expects (NAME_MAX on Linux). */
export const NAME_MAX = 255;

/** The length of `name` in bytes, as the filesystem counts it. */
export function nameBytes(name: string): number {
  return new TextEncoder().encode(name).length;
}
