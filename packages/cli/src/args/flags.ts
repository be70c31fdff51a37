/**
 * Plakar-style flags: one dash, a word, and for flags that take a value the next argument
 * (`-to DIR`) or `=` (`-to=DIR`). `--word` is accepted as a synonym. Boolean flags take no value
 * (`-fast`), or an explicit one with `=` (`-fast=false`). Flags and arguments may be interleaved;
 * `--` ends the flags (what follows is arguments even if it starts with `-`); a lone `-` is an
 * argument.
 */
import { UsageError } from '../errors.ts';

/**
 * `list`: repeated and/or comma-separated values, trimmed; `repeated`: one value per occurrence,
 * exactly as given (patterns, which may hold commas and spaces).
 */
export type FlagKind = 'boolean' | 'string' | 'list' | 'repeated';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** How the value is shown in help: `DIR`, `FILE`, `TAG`. */
  readonly value?: string;
  readonly description: string;
  /** One-letter or other aliases, e.g. `h` for `help`. */
  readonly aliases?: readonly string[];
}

export interface ParsedArgs {
  readonly flags: ParsedFlags;
  readonly args: readonly string[];
}

const BOOL_TRUE = new Set(['true', '1', 'yes', 'on']);
const BOOL_FALSE = new Set(['false', '0', 'no', 'off']);

export class ParsedFlags {
  readonly #values: Map<string, string | boolean | string[]>;
  constructor(values: Map<string, string | boolean | string[]>) {
    this.#values = values;
  }
  has(name: string): boolean {
    return this.#values.has(name);
  }
  bool(name: string): boolean {
    return this.#values.get(name) === true;
  }
  string(name: string): string | undefined {
    const v = this.#values.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  /** A list or repeated flag: its values (`-tag a,b -tag c`: a, b, c). */
  list(name: string): string[] {
    const v = this.#values.get(name);
    return Array.isArray(v) ? [...v] : [];
  }
  /** A copy with `name` set, unless it is already set (global flags under command flags). */
  withDefaults(other: ParsedFlags, names: readonly string[]): ParsedFlags {
    const values = new Map(this.#values);
    for (const name of names) {
      const v = other.#values.get(name);
      if (v !== undefined && !values.has(name)) values.set(name, v);
    }
    return new ParsedFlags(values);
  }
  /** Flags that were given, for -json echoes and tests. */
  entries(): [string, string | boolean | string[]][] {
    return [...this.#values.entries()];
  }
}

function findSpec(specs: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((s) => s.name === name || s.aliases?.includes(name));
}

/**
 * Parses `argv` against `specs`. With `stopAtFirstArg`, parsing stops at the first argument
 * (used for the global flags before `at` / the command); the rest is returned untouched in `args`.
 */
export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string | undefined,
  stopAtFirstArg = false,
): ParsedArgs {
  const values = new Map<string, string | boolean | string[]>();
  const args: string[] = [];
  const where = command ? ` for ${command}` : '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      if (stopAtFirstArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    const spec = findSpec(specs, name);
    if (!spec || name === '') {
      if (stopAtFirstArg) {
        // Not a global flag: let the command parse it (e.g. `kloset -tag x ls` is still wrong,
        // but the command will say so with its own help).
        args.push(...argv.slice(i));
        break;
      }
      throw new UsageError(`unknown flag ${JSON.stringify(`-${name}`)}${where}`, command);
    }
    if (spec.kind === 'boolean') {
      if (inline === undefined) values.set(spec.name, true);
      else if (BOOL_TRUE.has(inline.toLowerCase())) values.set(spec.name, true);
      else if (BOOL_FALSE.has(inline.toLowerCase())) values.delete(spec.name);
      else
        throw new UsageError(
          `flag -${spec.name}${where} takes true or false, not ${JSON.stringify(inline)}`,
          command,
        );
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined) {
        throw new UsageError(
          `flag -${spec.name}${where} needs a value (-${spec.name} ${spec.value ?? 'VALUE'})`,
          command,
        );
      }
      value = next;
      i++;
    }
    if (spec.kind === 'string') {
      if (values.has(spec.name))
        throw new UsageError(`flag -${spec.name}${where} given more than once`, command);
      if (value === '') throw new UsageError(`flag -${spec.name}${where} needs a non-empty value`, command);
      values.set(spec.name, value);
    } else if (spec.kind === 'repeated') {
      const list = (values.get(spec.name) as string[] | undefined) ?? [];
      list.push(value);
      values.set(spec.name, list);
    } else {
      const list = (values.get(spec.name) as string[] | undefined) ?? [];
      for (const part of value.split(',')) {
        const item = part.trim();
        if (item) list.push(item);
      }
      values.set(spec.name, list);
    }
  }
  return { flags: new ParsedFlags(values), args };
}
