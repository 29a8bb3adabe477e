/**
 * A small JSON Schema validator for the subset docs/result.schema.json uses (type, enum, const,
 * required, properties, additionalProperties, items, pattern, minimum, maximum), so the tests can
 * validate every `--json` output against the published schema without a dependency.
 */

/** A JSON Schema (the subset above). */
export type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Returns the problems of `value` against `schema` (empty when it conforms). */
export function validate(schema: Schema, value: unknown, at = "$"): string[] {
  const problems: string[] = [];
  const type = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const ok = allowed.includes(type) || (type === "integer" && allowed.includes("number"));
    if (!ok) return [`${at}: ${type} is not ${allowed.join(" or ")}`];
  }
  if ("const" in schema && JSON.stringify(value) !== JSON.stringify(schema.const)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern, "u").test(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      problems.push(`${at}: below minimum`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      problems.push(`${at}: above maximum`);
    }
  }
  if (type === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) =>
      problems.push(...validate(schema.items!, v, `${at}[${i}]`))
    );
  }
  if (type === "object") {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in object)) problems.push(`${at}: missing ${key}`);
    }
    for (const [key, v] of Object.entries(object)) {
      const sub = schema.properties?.[key];
      if (sub) problems.push(...validate(sub, v, `${at}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}: unexpected ${key}`);
      else if (typeof schema.additionalProperties === "object") {
        problems.push(...validate(schema.additionalProperties, v, `${at}.${key}`));
      }
    }
  }
  return problems;
}

/** The published schema of `--json` results. */
export const RESULT_SCHEMA: Schema = JSON.parse(
  await Deno.readTextFile(new URL("../docs/result.schema.json", import.meta.url)),
);

/**
 * Parses a `--json` stdout (exactly one line, one object) and validates it against the published
 * schema; throws with the problems when it does not conform.
 */
export function checkJsonResult(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l !== "");
  if (lines.length !== 1) throw new Error(`--json printed ${lines.length} lines: ${stdout}`);
  const value = JSON.parse(lines[0]);
  const problems = validate(RESULT_SCHEMA, value);
  if (problems.length > 0) {
    throw new Error(`--json output breaks the schema: ${problems.join("; ")}`);
  }
  return value;
}
