/**
 * A connector package describes itself with a manifest: which roles it plays for which protocols,
 * and which options each takes. The CLI checks configurations against it before saving them.
 */
import type { Destination } from '../destination/destination.ts';
import type { Source } from '../source/source.ts';
import type { Storage } from '../storage/storage.ts';

export type ConnectorRole = 'source' | 'storage' | 'destination';

export type OptionType = 'string' | 'boolean' | 'integer' | 'enum';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly required: boolean;
  /** The value used when the option is absent (as a string, as a user would type it). */
  readonly default?: string;
  /** Secrets are masked when a configuration is shown. */
  readonly secret?: boolean;
  /** Allowed values, for `enum`. */
  readonly values?: readonly string[];
  /** Inclusive bounds, for `integer`. */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

/** Option values after validation: booleans and integers are converted. */
export type OptionValues = Readonly<Record<string, string | number | boolean>>;

/** What every connector factory receives. `location` is the full location, e.g. `s3://host/bucket`. */
export interface ConnectorParams {
  readonly location: string;
  readonly options: OptionValues;
  /**
   * The connector will only be read from or looked at (a destination for a dry run): its factory
   * creates nothing (no bucket, no directory); it still checks what it can without writing.
   */
  readonly readOnly?: boolean;
  /**
   * Storage only, for connectors with `asOf: true`: the store as it was at this instant (Unix ms),
   * read-only: every object as its version current then (one deleted or not yet written then is
   * absent). Never given to connectors without `asOf`.
   */
  readonly asOf?: number;
}

interface ConnectorBase<R extends ConnectorRole> {
  readonly role: R;
  /** URL schemes this connector handles, e.g. ['s3'] or ['fs'] (plain paths mean `fs`). */
  readonly protocols: readonly string[];
  /** Options beyond `location`. */
  readonly options: readonly OptionSpec[];
  /**
   * Checks the form of a location of this connector's protocols without any I/O, and throws
   * ConnectorError `invalid` naming what is wrong and the form expected (for `s3`: the bucket is
   * missing, expected s3://ENDPOINT/BUCKET[/PREFIX]). Called before a configuration is saved, so
   * that a malformed location is refused then rather than at its first use. Optional.
   */
  checkLocation?(location: string): void;
  /**
   * Checks what the option specs alone cannot (options that go together, the form of a string
   * value such as a storage class or a duration), without any I/O, and throws ConnectorError
   * `invalid` naming the option. `params.options` hold the raw strings as typed. Called, like
   * checkLocation, before a configuration is saved, so that a bad value is a usage error then
   * rather than a failure at its first use. Optional.
   */
  checkOptions?(params: ConnectorParams): void;
}

export interface SourceConnector extends ConnectorBase<'source'> {
  create(params: ConnectorParams): Promise<Source>;
}
export interface StorageConnector extends ConnectorBase<'storage'> {
  /**
   * True when `create` honours `ConnectorParams.asOf` (a backend that keeps the versions of its
   * objects, such as a versioned bucket): the CLI's `-as-of` refuses other stores.
   */
  readonly asOf?: boolean;
  create(params: ConnectorParams): Promise<Storage>;
}
export interface DestinationConnector extends ConnectorBase<'destination'> {
  create(params: ConnectorParams): Promise<Destination>;
}
export type Connector = SourceConnector | StorageConnector | DestinationConnector;

export interface ConnectorManifest {
  /** The package name as users type it: `fs`, `s3`. */
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly connectors: readonly Connector[];
}
