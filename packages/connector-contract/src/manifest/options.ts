/** Checks raw `key=value` options against a connector's OptionSpec list. */
import { ConnectorError } from '../errors/connector-error.ts';
import type { OptionSpec, OptionValues } from './manifest.ts';

const TRUE = new Set(['true', 'yes', '1', 'on']);
const FALSE = new Set(['false', 'no', '0', 'off']);

function convert(spec: OptionSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean': {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new ConnectorError(
        'invalid',
        `option ${spec.name}: expected true or false, got ${JSON.stringify(raw)}`,
      );
    }
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) {
        throw new ConnectorError(
          'invalid',
          `option ${spec.name}: expected an integer, got ${JSON.stringify(raw)}`,
        );
      }
      const n = Number(raw);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConnectorError(
          'invalid',
          `option ${spec.name}: ${n} is out of range [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`,
        );
      }
      return n;
    }
    case 'enum':
      if (!spec.values?.includes(raw)) {
        throw new ConnectorError(
          'invalid',
          `option ${spec.name}: expected one of ${(spec.values ?? []).join(', ')}, got ${JSON.stringify(raw)}`,
        );
      }
      return raw;
  }
}

/**
 * Validates raw options (all strings, as typed by a user) against `specs`: unknown keys, missing
 * required ones and malformed values are refused by name. Defaults are filled in.
 * `ignore` lists keys handled by the caller (e.g. `location`, `passphrase`).
 */
export function validateOptions(
  specs: readonly OptionSpec[],
  raw: Readonly<Record<string, string>>,
  ignore: readonly string[] = [],
): OptionValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (ignore.includes(key)) continue;
    const spec = byName.get(key);
    if (!spec) {
      const known = specs.map((s) => s.name).join(', ');
      throw new ConnectorError(
        'invalid',
        `unknown option ${JSON.stringify(key)} (known: ${known || 'none'})`,
      );
    }
    out[key] = convert(spec, value);
  }
  for (const spec of specs) {
    if (spec.name in out) continue;
    if (spec.default !== undefined) out[spec.name] = convert(spec, spec.default);
    else if (spec.required)
      throw new ConnectorError('invalid', `missing required option ${JSON.stringify(spec.name)}`);
  }
  return out;
}
