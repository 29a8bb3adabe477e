/**
 * Physical to logical lines, as upstream's config line reader does it (docs/upstream.md
 * §2.4): trimming, `\` continuation, and the rules for `#` inside a continuation.
 */

import { sourceError, sourceWarningMessage } from "./errors.ts";

/** One logical line: comments dropped, continuations joined. */
export interface LogicalLine {
  /** The joined text, without leading whitespace. Never empty or all-blank. */
  readonly text: string;
  /** The 1-based number of the first physical line it came from. */
  readonly line: number;
}

/** True for the characters C's `isspace` accepts in the "C" locale. */
export function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
}

/** Removes C whitespace from the end of `s`. */
export function trimEndSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1])) end--;
  return s.slice(0, end);
}

/** Removes C whitespace from the start of `s`. */
export function trimStartSpace(s: string): string {
  let start = 0;
  while (start < s.length && isSpace(s[start])) start++;
  return s.slice(start);
}

/** Removes C whitespace from both ends of `s`. */
export function trimSpace(s: string): string {
  return trimStartSpace(trimEndSpace(s));
}

/** True when `text` is one or more ASCII digits (a loop: a regular expression is compiled on first use). */
export function isDigits(text: string): boolean {
  if (text === "") return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Splits a configuration file into logical lines.
 *
 * Each physical line is trimmed at the end, then at the start. A line that starts with `#` is a
 * comment, and a `\` at its end does not continue it. A line ending in `\` continues: the `\` is
 * removed and the next physical line is appended. Inside a continuation a line that starts with
 * `#` is blank except for its last character (so `# text \` continues and `# text` ends the
 * line with its last character; the latter also gives a warning). Blank logical lines are dropped.
 *
 * Deliberate difference: upstream keeps a last line that has no newline untrimmed; here it is
 * trimmed like any other line.
 *
 * @throws {ConfigError} when the file ends inside a continuation.
 */
export function readLogicalLines(
  content: string,
  file: string,
  warn: (message: string) => void,
): LogicalLine[] {
  const physical = content.split("\n");
  if (physical.length > 0 && physical[physical.length - 1] === "") physical.pop();

  const out: LogicalLine[] = [];
  let buffer = "";
  let continuing = false;
  let start = 0;
  for (let i = 0; i < physical.length; i++) {
    const number = i + 1;
    let text = trimSpace(physical[i]);
    if (!continuing) {
      start = number;
      if (text.startsWith("#")) continue; // a comment never continues
      buffer = text;
    } else {
      if (text.startsWith("#")) {
        // Upstream treats the comment as blank up to its last character.
        text = text.slice(-1);
        if (text !== "\\") {
          warn(sourceWarningMessage(
            file,
            number,
            "comment line inside a continued line does not end with '\\'; " +
              "its last character is kept and the line ends here",
          ));
        }
      }
      buffer += text;
    }
    if (buffer.endsWith("\\")) {
      buffer = buffer.slice(0, -1);
      continuing = true;
      continue;
    }
    continuing = false;
    if (trimSpace(buffer) !== "") out.push({ text: buffer, line: start });
    buffer = "";
  }
  if (continuing) {
    throw sourceError(file, start, "unterminated line continuation at end of file");
  }
  return out;
}
