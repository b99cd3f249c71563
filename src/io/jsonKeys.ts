/**
 * One naming style for everything a user reads as JSON (`--json`, eval.json, run.json, summary.json,
 * manifest.json, the catalog): snake_case, as the files always used. Code keeps camelCase fields; these convert
 * at the boundary (docs/formats.md). Typed arrays become JSON arrays (JSON.stringify would write {"0": ...}).
 */

/** `inversePurity` -> `inverse_purity`; snake_case and other keys (`2-4`, `f1`) stay as they are. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/** `inverse_purity` -> `inversePurity`. */
export function camelCase(key: string): string {
  return key.replace(/([a-z0-9])_([a-z0-9])/g, (_m, a: string, b: string) => a + b.toUpperCase());
}

function mapKeys(value: unknown, rename: (key: string) => string): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, rename));
  if (value && typeof value === 'object' && value.constructor === Object) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[rename(k)] = mapKeys(v, rename);
    return out;
  }
  return value;
}

/** A deep copy with snake_case keys (for output). */
export function snakeKeys<T>(value: T): unknown {
  return mapKeys(value, snakeCase);
}

/** A deep copy with camelCase keys (reading what snakeKeys wrote back into the code's types; camelCase input is unchanged). */
export function camelKeys<T>(value: unknown): T {
  return mapKeys(value, camelCase) as T;
}

/** Pretty JSON with snake_case keys, newline-terminated. */
export function toJson(value: unknown): string {
  return JSON.stringify(snakeKeys(value), null, 2) + '\n';
}
