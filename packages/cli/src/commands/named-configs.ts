/**
 * `kloset source|store|destination add|ls|show|set|unset|rm`: named locations with their options,
 * checked against the connector's manifest before anything is saved.
 */
import { type Connector, ConnectorError, type OptionSpec, validateOptions } from '@kloset/connector-contract';
import { type ConfigKind, NAME_PATTERN, type NamedEntry } from '../config/named-config.ts';
import { CliError, UsageError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { normalizeLocation, RESERVED_KEYS } from '../location/location.ts';
import { splitLocationQuery } from '../location/location-query.ts';
import type { JsonObject } from '../output/json.ts';
import type { Command, CommandContext } from './command.ts';

const ROLE = { source: 'source', store: 'storage', destination: 'destination' } as const;
const MASK = '********';

/** `k=v` arguments; a bare first argument (when allowed) is the location. */
function parsePairs(words: readonly string[], cmd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`${cmd}: expected KEY=VALUE, got ${JSON.stringify(w)}`, cmd);
    const key = w.slice(0, eq);
    if (Object.hasOwn(out, key)) throw new UsageError(`${cmd}: ${key} given twice`, cmd);
    out[key] = w.slice(eq + 1);
  }
  return out;
}

/** A location with a query string (`s3://host/bucket?use_tls=false`): its options saved as options. */
function withQueryOptions(given: Record<string, string>, cmd: string): Record<string, string> {
  if (given.location === undefined) return given;
  const query = splitLocationQuery(given.location);
  for (const key of Object.keys(query.options))
    if (Object.hasOwn(given, key)) throw new UsageError(`${cmd}: ${key} given twice`, cmd);
  return { ...given, ...query.options, location: query.location };
}

async function connectorFor(ctx: CommandContext, kind: ConfigKind, location: string): Promise<Connector> {
  return (await ctx.services.connectors()).resolve(ROLE[kind], location);
}

/**
 * Refuses a malformed location, unknown keys and bad values by name, as usage errors (exit 2);
 * `passphrase` only where it means something.
 */
async function validate(
  ctx: CommandContext,
  kind: ConfigKind,
  name: string,
  entry: NamedEntry,
): Promise<void> {
  if (kind === 'destination' && entry.passphrase !== undefined) {
    throw new UsageError(`destination @${name}: a destination takes no passphrase`);
  }
  let location: string;
  try {
    location = normalizeLocation(entry.location, ctx.io.cwd, ctx.io.env);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${kind} @${name}: ${err.message}`);
    throw err;
  }
  const connector = await connectorFor(ctx, kind, location);
  try {
    connector.checkLocation?.(location);
    validateOptions(connector.options, entry, RESERVED_KEYS);
    connector.checkOptions?.({ location, options: connectorOptions(entry) });
  } catch (err) {
    if (err instanceof ConnectorError) throw new UsageError(`${kind} @${name}: ${err.message}`);
    throw err;
  }
}

/** The options of an entry that go to its connector (all but location and passphrase). */
function connectorOptions(entry: NamedEntry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) if (!RESERVED_KEYS.includes(k)) out[k] = v;
  return out;
}

function requireName(kind: ConfigKind, raw: string | undefined, cmd: string): string {
  const name = raw?.startsWith('@') ? raw.slice(1) : raw;
  if (!name || !NAME_PATTERN.test(name)) {
    throw new UsageError(
      `${cmd}: ${JSON.stringify(raw ?? '')} is not a valid ${kind} name (letters, digits, . _ -)`,
      cmd,
    );
  }
  return name;
}

async function masked(
  ctx: CommandContext,
  kind: ConfigKind,
  entry: NamedEntry,
  secrets: boolean,
): Promise<Record<string, string>> {
  let specs: readonly OptionSpec[] = [];
  try {
    specs = (await connectorFor(ctx, kind, normalizeLocation(entry.location, ctx.io.cwd, ctx.io.env)))
      .options;
  } catch {
    // No connector installed: mask every key but location, to be safe.
    specs = Object.keys(entry).map((n) => ({
      name: n,
      type: 'string',
      required: false,
      secret: n !== 'location',
      description: '',
    }));
  }
  const secret = new Set(['passphrase', ...specs.filter((s) => s.secret).map((s) => s.name)]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) out[k] = !secrets && secret.has(k) ? MASK : v;
  return out;
}

function makeCommands(kind: ConfigKind): Command[] {
  const base = { usesStore: false } as const;
  const nameArg = { name: 'NAME', required: true, description: `the ${kind} name (used as @NAME)` };
  const add: Command = {
    ...base,
    words: [kind, 'add'],
    optionsRole: ROLE[kind],
    summary: `add a named ${kind}`,
    description: `Saves ${kind} NAME. The location is the second argument or location=LOCATION. Options are checked\nagainst the connector; an unknown key or a bad value is refused and nothing is saved.`,
    flags: [],
    args: [
      nameArg,
      { name: 'LOCATION|KEY=VALUE', required: true, variadic: true, description: 'the location and options' },
    ],
    json: '{"name", "kind", "location"}',
    examples: [
      `kloset ${kind} add my-${kind} s3://host/bucket access_key=... secret_access_key=... use_tls=true`,
    ],
    async run(ctx) {
      const name = requireName(kind, ctx.args[0], `${kind} add`);
      let rest = ctx.args.slice(1);
      const pairs: Record<string, string> = {};
      if (rest[0] !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*=/.test(rest[0])) {
        pairs.location = rest[0];
        rest = rest.slice(1);
      }
      const given = parsePairs(rest, `${kind} add`);
      if (pairs.location !== undefined && given.location !== undefined) {
        throw new UsageError(`${kind} add: the location is given twice`, `${kind} add`);
      }
      const typed = { ...pairs, ...given };
      if (!typed.location)
        throw new UsageError(`${kind} add: missing LOCATION (or location=...)`, `${kind} add`);
      const entry = withQueryOptions(typed, `${kind} add`) as NamedEntry;
      const config = await ctx.services.config();
      if (config.get(kind, name))
        throw new CliError(`${kind} @${name} already exists (change it with "kloset ${kind} set")`);
      await validate(ctx, kind, name, entry);
      config.set(kind, name, entry);
      await config.save();
      await ctx.out.result({ name, kind, location: entry.location }, () => [`added ${kind} @${name}`]);
      return ExitCode.Ok;
    },
  };
  const ls: Command = {
    ...base,
    words: [kind, 'ls'],
    summary: `list the named ${kind}s`,
    flags: [],
    args: [],
    json: 'one line per entry {"name", "location"}',
    async run(ctx) {
      const config = await ctx.services.config();
      const rows = config
        .names(kind)
        .map((name) => ({ name, location: config.require(kind, name).location }));
      if (ctx.out.json) {
        for (const row of rows) await ctx.out.record(row);
        return ExitCode.Ok;
      }
      // Names padded to the widest (NAME_PATTERN: printable ASCII only), so locations line up.
      const width = Math.max(0, ...rows.map((r) => r.name.length));
      for (const r of rows) await ctx.out.text(`${r.name.padEnd(width)}  ${r.location}`);
      return ExitCode.Ok;
    },
  };
  const show: Command = {
    ...base,
    words: [kind, 'show'],
    summary: `show a named ${kind} (secrets masked unless -secrets)`,
    flags: [{ name: 'secrets', kind: 'boolean', description: 'show secret values' }],
    args: [{ ...nameArg, required: false, description: 'the name (all when omitted)' }],
    json: 'one line per entry {"name", "options": {"location", KEY: VALUE...}}',
    async run(ctx) {
      const config = await ctx.services.config();
      const names =
        ctx.args[0] !== undefined ? [requireName(kind, ctx.args[0], `${kind} show`)] : config.names(kind);
      for (const name of names) {
        const options = await masked(ctx, kind, config.require(kind, name), ctx.flags.bool('secrets'));
        const json: JsonObject = { name, options };
        await ctx.out.result(json, () => [
          `${name}:`,
          ...Object.entries(options).map(([k, v]) => `    ${k}=${v}`),
        ]);
      }
      return ExitCode.Ok;
    },
  };
  const set: Command = {
    ...base,
    words: [kind, 'set'],
    optionsRole: ROLE[kind],
    summary: `change options of a named ${kind}`,
    flags: [],
    args: [nameArg, { name: 'KEY=VALUE', required: true, variadic: true, description: 'options to set' }],
    json: '{"name", "kind", "set": [KEY...]}',
    async run(ctx) {
      const name = requireName(kind, ctx.args[0], `${kind} set`);
      const changes = withQueryOptions(parsePairs(ctx.args.slice(1), `${kind} set`), `${kind} set`);
      const config = await ctx.services.config();
      const entry = { ...config.require(kind, name), ...changes } as NamedEntry;
      await validate(ctx, kind, name, entry);
      config.set(kind, name, entry);
      await config.save();
      await ctx.out.result({ name, kind, set: Object.keys(changes) }, () => [`updated ${kind} @${name}`]);
      return ExitCode.Ok;
    },
  };
  const unset: Command = {
    ...base,
    words: [kind, 'unset'],
    summary: `remove options of a named ${kind}`,
    flags: [],
    args: [nameArg, { name: 'KEY', required: true, variadic: true, description: 'options to remove' }],
    json: '{"name", "kind", "unset": [KEY...]}',
    async run(ctx) {
      const name = requireName(kind, ctx.args[0], `${kind} unset`);
      const keys = ctx.args.slice(1);
      if (keys.includes('location'))
        throw new UsageError(`${kind} unset: location cannot be removed`, `${kind} unset`);
      const config = await ctx.services.config();
      const entry: Record<string, string> = { ...config.require(kind, name) };
      for (const k of keys) {
        if (!Object.hasOwn(entry, k))
          throw new CliError(`${kind} @${name} has no option ${JSON.stringify(k)}`);
        delete entry[k];
      }
      await validate(ctx, kind, name, entry as NamedEntry);
      config.set(kind, name, entry as NamedEntry);
      await config.save();
      await ctx.out.result({ name, kind, unset: keys }, () => [`updated ${kind} @${name}`]);
      return ExitCode.Ok;
    },
  };
  const rm: Command = {
    ...base,
    words: [kind, 'rm'],
    summary: `remove a named ${kind}`,
    flags: [],
    args: [nameArg],
    json: '{"name", "kind", "removed": true}',
    async run(ctx) {
      const name = requireName(kind, ctx.args[0], `${kind} rm`);
      const config = await ctx.services.config();
      config.require(kind, name);
      config.delete(kind, name);
      await config.save();
      await ctx.out.result({ name, kind, removed: true }, () => [`removed ${kind} @${name}`]);
      return ExitCode.Ok;
    },
  };
  return [add, ls, show, set, unset, rm];
}

export const NAMED_CONFIG_COMMANDS: readonly Command[] = (
  ['source', 'store', 'destination'] as const
).flatMap(makeCommands);
