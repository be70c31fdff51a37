/**
 * Named sources, stores and destinations (`@NAME`), kept in one JSON file:
 *
 *   { "version": 1, "sources": { NAME: { "location": "...", KEY: "VALUE", ... } },
 *     "stores": { ... }, "destinations": { ... } }
 *
 * Values are kept as typed by the user (strings) and checked against the connector's manifest
 * when added or set. The file is written atomically (temporary file, fsync, rename) with mode 0600
 * since it may hold secrets.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from '../errors.ts';

export type ConfigKind = 'source' | 'store' | 'destination';
export const CONFIG_KINDS: readonly ConfigKind[] = ['source', 'store', 'destination'];

/** The options of one named entry; `location` is always there. */
export type NamedEntry = Readonly<Record<string, string>> & { readonly location: string };

interface ConfigData {
  version: 1;
  sources: Record<string, NamedEntry>;
  stores: Record<string, NamedEntry>;
  destinations: Record<string, NamedEntry>;
}

const SECTION = { source: 'sources', store: 'stores', destination: 'destinations' } as const;

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function isEntryMap(v: unknown): v is Record<string, NamedEntry> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every(
    (e) =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as Record<string, unknown>).location === 'string' &&
      Object.values(e).every((x) => typeof x === 'string'),
  );
}

export class NamedConfig {
  readonly path: string;
  readonly #data: ConfigData;

  private constructor(path: string, data: ConfigData) {
    this.path = path;
    this.#data = data;
  }

  /** Loads the file; a missing file is an empty configuration. */
  static async load(path: string): Promise<NamedConfig> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return new NamedConfig(path, { version: 1, sources: {}, stores: {}, destinations: {} });
      }
      throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`);
    }
    const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const data: ConfigData = { version: 1, sources: {}, stores: {}, destinations: {} };
    for (const section of Object.values(SECTION)) {
      const v = obj[section] ?? {};
      if (!isEntryMap(v))
        throw new CliError(`${path}: "${section}" must map names to {"location": ..., key: value}`);
      data[section] = { ...v };
    }
    return new NamedConfig(path, data);
  }

  get(kind: ConfigKind, name: string): NamedEntry | undefined {
    return Object.hasOwn(this.#data[SECTION[kind]], name) ? this.#data[SECTION[kind]][name] : undefined;
  }

  /** Like get, but fails naming what exists. */
  require(kind: ConfigKind, name: string): NamedEntry {
    const entry = this.get(kind, name);
    if (!entry) {
      const known = this.names(kind);
      const hint = known.length
        ? ` (known ${kind}s: ${known.join(', ')})`
        : ` (add one: kloset ${kind} add ${name} LOCATION)`;
      throw new CliError(`unknown ${kind} @${name}${hint}`);
    }
    return entry;
  }

  names(kind: ConfigKind): string[] {
    return Object.keys(this.#data[SECTION[kind]]).sort();
  }

  set(kind: ConfigKind, name: string, entry: NamedEntry): void {
    this.#data[SECTION[kind]][name] = entry;
  }

  delete(kind: ConfigKind, name: string): boolean {
    if (!this.get(kind, name)) return false;
    delete this.#data[SECTION[kind]][name];
    return true;
  }

  /** Writes the file atomically, mode 0600. */
  async save(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(this.#data, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
