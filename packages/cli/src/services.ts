/**
 * What commands use beyond their arguments, built on first use: the named configuration, the
 * connectors, the engine (kloset-core), and opening the store of `at`.
 */

import { join } from 'node:path';
import {
  type ConnectorManifest,
  type Destination,
  policyOfTimeout,
  type RetryEvent,
  RetryStorage,
  type Source,
  type Storage,
} from '@kloset/connector-contract';
import type { NamedConfig } from './config/named-config.ts';
import { NamedConfig as NamedConfigFile } from './config/named-config.ts';
import { absolutePath, cacheDir, configFile, defaultStore, packagesDir } from './config/paths.ts';
import { connect } from './connectors/connect.ts';
import { Connectors } from './connectors/connectors.ts';
import type { Engine, OpenStore, StoreView } from './engine/engine.ts';
import { CliError, WrongPassphraseError } from './errors.ts';
import { ExitCode } from './exit-codes.ts';
import type { ManifestOptions } from './help/connector-options.ts';
import type { Io } from './io/io.ts';
import { describeLocation, type ResolvedLocation, resolveLocation } from './location/location.ts';
import { escapeControls } from './output/escape.ts';
import { obtainPassphrase, type Passphrase } from './passphrase/passphrase.ts';
import { readInstalled } from './pkg/layout.ts';

export type EngineFactory = () => Promise<Engine>;

async function coreEngine(): Promise<Engine> {
  const { createCoreEngine } = await import('./engine/core-engine.ts');
  return createCoreEngine();
}

export interface StoreOptions {
  /** `at LOCATION`, or undefined for the default store. */
  readonly at: string | undefined;
  /** The -keyfile flag, as typed. */
  readonly keyfile: string | undefined;
  /** `passphrase=` of the named source being backed up: used when the store has none. */
  readonly sourcePassphrase?: string | undefined;
  /** Where sourcePassphrase comes from, for messages (`passphrase= of source @NAME`). */
  readonly sourcePassphraseFrom?: string | undefined;
  /** -as-of: open the store, read-only, as it was at this instant (Unix ms). */
  readonly asOf?: number | undefined;
}

/** Where a passphrase came from, for the message of a wrong one. */
function passphraseFrom(
  p: Passphrase,
  where: ResolvedLocation,
  opts: StoreOptions,
  keyfile?: string,
): string {
  switch (p.origin) {
    case 'config':
      return where.passphrase !== undefined
        ? `passphrase= of ${where.display}`
        : (opts.sourcePassphraseFrom ?? 'the configuration');
    case 'env':
      return 'KLOSET_PASSPHRASE';
    case 'keyfile':
      return `keyfile ${keyfile}`;
    case 'prompt':
      return 'the prompt';
  }
}

/**
 * An error of opening or creating the store at `where`, naming it: a wrong passphrase says which
 * store and where the passphrase came from; other errors that do not name the store get
 * `store WHERE: ` before them. CLI errors that are not about the passphrase are kept as they are.
 */
export function storeError(where: ResolvedLocation, err: unknown, passphraseOrigin?: string): unknown {
  if (err instanceof WrongPassphraseError) {
    const from = passphraseOrigin !== undefined ? ` (from ${passphraseOrigin})` : '';
    return new WrongPassphraseError(`wrong passphrase${from} for store ${describeLocation(where)}`, {
      cause: err,
      from: passphraseOrigin,
    });
  }
  return locationError('store', where, err);
}

/**
 * An error of using `where` as `kind`, naming it: `KIND @NAME (LOCATION): message`, unless the
 * message names it already. CLI errors (already one line for the user) are kept as they are.
 */
export function locationError(kind: string, where: ResolvedLocation, err: unknown): unknown {
  if (err instanceof CliError || !(err instanceof Error)) return err;
  const { message } = err;
  if (message.includes(where.name !== undefined ? where.display : where.location)) return err;
  // `store @NAME: no kloset store at LOCATION`, not the location twice.
  const prefix = message.includes(where.location) ? where.display : describeLocation(where);
  return new CliError(`${kind} ${prefix}: ${message}`, ExitCode.Error, { cause: err });
}

/** How commands run: `verbose` (-verbose or KLOSET_DEBUG=1) logs storage retries on stderr. */
export interface ServiceOptions {
  readonly verbose?: boolean;
}

/** One stderr line per storage retry (only when verbose). */
export function retryLine(display: string, e: RetryEvent): string {
  const what = `${display}: ${e.op} ${e.target} failed (attempt ${e.attempt}: ${e.error.message})`;
  return `kloset: ${escapeControls(what)}; retrying in ${e.delayMs} ms\n`;
}

/** How to wait longer than `deadlineMs` on the store `where`: its `timeout=` option. */
export function timeoutHint(where: ResolvedLocation, deadlineMs: number): string {
  const longer = Math.max(120, Math.round((deadlineMs * 4) / 1000));
  return where.name !== undefined
    ? `timeout=${deadlineMs / 1000} s: 'kloset store set ${where.name} timeout=${longer}' waits longer`
    : `timeout=${deadlineMs / 1000} s: the location '${where.display}${where.display.includes('?') ? '&' : '?'}timeout=${longer}' waits longer`;
}

export class Services {
  readonly io: Io;
  readonly verbose: boolean;
  readonly #engineFactory: EngineFactory;
  #config: Promise<NamedConfig> | undefined;
  #connectors: Connectors | undefined;
  #engine: Promise<Engine> | undefined;

  readonly #builtins: readonly ConnectorManifest[] | undefined;

  constructor(
    io: Io,
    engineFactory: EngineFactory = coreEngine,
    builtins?: readonly ConnectorManifest[],
    options: ServiceOptions = {},
  ) {
    this.io = io;
    this.verbose = options.verbose === true || io.env.KLOSET_DEBUG === '1';
    this.#engineFactory = engineFactory;
    this.#builtins = builtins;
  }

  config(): Promise<NamedConfig> {
    this.#config ??= NamedConfigFile.load(configFile(this.io.env));
    return this.#config;
  }

  async connectors(): Promise<Connectors> {
    if (!this.#connectors) {
      const builtins = this.#builtins ?? (await import('./connectors/builtins.ts')).BUILTIN_MANIFESTS;
      this.#connectors ??= new Connectors(packagesDir(this.io.env), builtins);
    }
    return this.#connectors;
  }

  /**
   * The manifests of the protocols this CLI knows: the built-in ones, then those of the installed
   * packages (their manifest.json: no package code runs; unreadable ones left out).
   */
  async knownManifests(): Promise<ManifestOptions[]> {
    const connectors = await this.connectors();
    const builtins = connectors.builtins();
    // Help must not fail on a packages directory it cannot read: the built-ins are still known.
    const { packages } = await readInstalled(packagesDir(this.io.env)).catch(() => ({ packages: [] }));
    const installed = packages
      .map((p) => p.manifest)
      .filter((m) => !connectors.builtinNames().includes(m.name));
    return [...builtins, ...installed];
  }

  engine(): Promise<Engine> {
    this.#engine ??= this.#engineFactory();
    return this.#engine;
  }

  resolve(raw: string, kind: 'source' | 'store' | 'destination'): Promise<ResolvedLocation> {
    return resolveLocation(raw, kind, () => this.config(), this.io.cwd, this.io.env);
  }

  storeLocation(at: string | undefined): Promise<ResolvedLocation> {
    return this.resolve(at ?? defaultStore(this.io.env), 'store');
  }

  /**
   * The storage of a store location, wrapped in the contract's RetryStorage: the one place where
   * the CLI retries transient storage failures (logged on stderr when verbose), every operation
   * (locks included) under one policy, whose deadline is the store's `timeout=` option (seconds;
   * checked by the connector's manifest when `connect` built the storage).
   */
  async storage(where: ResolvedLocation, asOf?: number): Promise<Storage> {
    const inner = await connect(await this.connectors(), 'storage', where, false, asOf);
    const stderr = this.io.stderr;
    const raw = where.options.timeout;
    const policy = policyOfTimeout(raw === undefined ? undefined : Number(raw));
    return new RetryStorage(inner, {
      policy,
      ...(where.location.includes('://') ? { deadlineHint: timeoutHint(where, policy.deadlineMs) } : {}),
      ...(this.verbose ? { onRetry: (e: RetryEvent) => void stderr.write(retryLine(where.display, e)) } : {}),
    });
  }

  async source(raw: string): Promise<{ where: ResolvedLocation; source: Source }> {
    const where = await this.resolve(raw, 'source');
    return { where, source: await this.sourceAt(where) };
  }

  /** The source of a resolved location (loads its connector package if needed). */
  async sourceAt(where: ResolvedLocation): Promise<Source> {
    try {
      return await connect(await this.connectors(), 'source', where);
    } catch (err) {
      throw locationError('source', where, err);
    }
  }

  /** The destination `raw` names; `readOnly` (a dry run): its connector creates nothing. */
  async destination(
    raw: string,
    readOnly = false,
  ): Promise<{ where: ResolvedLocation; destination: Destination }> {
    return this.destinationAt(await this.resolve(raw, 'destination'), readOnly);
  }

  /** The destination of a location already resolved (`resolve(raw, 'destination')`). */
  async destinationAt(
    where: ResolvedLocation,
    readOnly = false,
  ): Promise<{ where: ResolvedLocation; destination: Destination }> {
    try {
      return { where, destination: await connect(await this.connectors(), 'destination', where, readOnly) };
    } catch (err) {
      throw locationError('destination', where, err);
    }
  }

  /**
   * True when opening a store cannot stop at a passphrase prompt (no terminal to prompt on, or a
   * passphrase from the environment, a keyfile or the named source): such a store may be opened
   * while other work goes on, and abandoned if that work fails.
   */
  opensWithoutPrompt(opts: StoreOptions): boolean {
    return (
      !this.io.stdinIsTTY ||
      Boolean(this.io.env.KLOSET_PASSPHRASE) ||
      opts.keyfile !== undefined ||
      Boolean(opts.sourcePassphrase)
    );
  }

  #keyfile(opts: StoreOptions): string | undefined {
    return opts.keyfile === undefined ? undefined : absolutePath(opts.keyfile, this.io.cwd, this.io.env);
  }

  /** Creates a store at `at`; `plaintext` stores ask for no passphrase. */
  async createStore(
    opts: StoreOptions,
    plaintext: boolean,
  ): Promise<{ where: ResolvedLocation; view: StoreView }> {
    const where = await this.storeLocation(opts.at);
    try {
      const storage = await this.storage(where);
      try {
        const passphrase = plaintext
          ? undefined
          : (
              await obtainPassphrase(
                this.io,
                { configured: where.passphrase, keyfile: this.#keyfile(opts) },
                where.display,
                true,
              )
            ).value;
        const engine = await this.engine();
        const view = await engine.create(storage, { passphrase, cacheDir: cacheDir(this.io.env) });
        return { where, view };
      } finally {
        await storage.close();
      }
    } catch (err) {
      throw storeError(where, err);
    }
  }

  /** Opens the store of `at`. The caller closes it (which closes the storage). */
  async openStore(
    opts: StoreOptions,
    readOnly: boolean,
  ): Promise<{ where: ResolvedLocation; store: OpenStore }> {
    const where = await this.storeLocation(opts.at);
    let origin: string | undefined;
    try {
      const storage = await this.storage(where, opts.asOf);
      try {
        const engine = await this.engine();
        // A store as it was has an index cache of its own: the current one is not rebuilt each time.
        const caches = cacheDir(this.io.env);
        const store = await engine.open(storage, {
          readOnly: readOnly || opts.asOf !== undefined,
          cacheDir: opts.asOf === undefined ? caches : join(caches, 'as-of'),
          passphrase: async () => {
            const keyfile = this.#keyfile(opts);
            const configured = where.passphrase ?? opts.sourcePassphrase;
            const p = await obtainPassphrase(this.io, { configured, keyfile }, where.display, false);
            origin = passphraseFrom(p, where, opts, keyfile);
            return p.value;
          },
        });
        return { where, store };
      } catch (err) {
        await storage.close().catch(() => {});
        throw err;
      }
    } catch (err) {
      throw storeError(where, err, origin);
    }
  }
}
