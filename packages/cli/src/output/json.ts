/** JSON values as printed by `-json`: one object per line (JSON Lines). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** One line of JSON Lines output. */
export function jsonLine(value: JsonObject): string {
  return `${JSON.stringify(value)}\n`;
}
