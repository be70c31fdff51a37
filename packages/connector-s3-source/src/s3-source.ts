/** The S3 source: backs up the objects under BUCKET/PREFIX. */
import type { HeadObjectCommandOutput, Tag } from '@aws-sdk/client-s3';
import {
  ConnectorError,
  type ContentStream,
  isConnectorError,
  type OpenedContent,
  type PreviousEntry,
  type ScanContext,
  type SharedContent,
  type Source,
  type SourceInfo,
  type SourceRecord,
} from '@kloset/connector-contract';
import {
  createS3Connection,
  etagIsBodyMd5,
  META_ETAG,
  META_KEY,
  META_PREFIX,
  META_SSE,
  META_STORAGE_CLASS,
  objectMetadata,
  type RetryPolicy,
  type S3Connection,
  type S3Settings,
  unquoteEtag,
} from '@kloset/s3-common';
import { type DirEvent, type FileEvent, KeyTree, type TreeEvent } from './key-tree.ts';
import { type ListedObject, listObjects } from './listing.ts';
import { headObject, objectTags } from './object-head.ts';
import { openObject, readObject } from './object-reader.ts';
import { reusableMetadata, timestamp } from './previous-entry.ts';
import { SettleQueue } from './settle-queue.ts';
import { listObjectVersions } from './version-listing.ts';
import {
  deleteMarkerRecord,
  latestVersionPair,
  versionDirectory,
  versionMetadata,
} from './version-records.ts';
import { type FilterAs, VersionTree } from './version-tree.ts';

/** How an S3Source is built. */
export interface S3SourceConfig {
  readonly settings: S3Settings;
  /** Retries of each request. Default: 6 attempts, 250 ms doubling up to 10 s, jittered. */
  readonly retry?: RetryPolicy;
  /**
   * Ask HeadObject (and GetObjectTagging) for every object, even one the previous snapshot already
   * has with the same ETag, size and LastModified. Default false.
   */
  readonly refreshMetadata?: boolean;
  /**
   * `latest` (default): the current version of each key. `all`: every version and delete marker
   * too, under `/%%versions` (version-tree.ts), read with ListObjectVersions.
   */
  readonly versions?: 'latest' | 'all';
}

/**
 * What a file event carries: the listed object, and with `versions=all` the version to read and
 * the metadata the listing gives it (`s3.version-id`, `s3.is-latest`...), set over any other.
 */
interface ScanItem extends ListedObject {
  readonly versionId?: string;
  readonly listedMetadata?: Readonly<Record<string, string>>;
  /** A version's record: what backup filters judge it as (its key's file). */
  readonly filterAs?: FilterAs;
  /** A key's latest version: its plain file and its version entry share the content. */
  readonly sharedContent?: SharedContent;
}

/** Looks up the previous snapshot's file entry of a path. */
type PreviousLookup = (path: string) => Promise<PreviousEntry | undefined>;

/** What a file record is built from. */
interface FileFacts {
  readonly key: string;
  readonly versionId: string | undefined;
  readonly size: number;
  readonly mtimeMs: number;
  readonly metadata: Record<string, string>;
  /** Quoted, as S3 returns it. */
  readonly etag: string | undefined;
  readonly checkMd5: boolean;
}

type Outcome = { readonly record: SourceRecord } | { readonly fatal: unknown };

const noContent = (): Promise<ContentStream> =>
  Promise.reject(new Error('S3 source: only files have content to open'));

/**
 * Source over BUCKET/PREFIX. `scan` streams ListObjectsV2 pages (the next one is fetched while the
 * current one is processed) and turns keys into paths with KeyTree (see key-tree.ts and s3-common
 * names.ts). An object whose listed ETag, size and LastModified equal the previous snapshot's entry
 * (ScanContext.previous) keeps that entry's headers, metadata and tags without any request. Any
 * other object is yielded at once with `metadataOnOpen`: its headers and user metadata come with
 * the GetObject that reads it (and GetObjectTagging when it has tags), no HeadObject. With
 * `refreshMetadata` (or without a listed ETag) every object is asked HeadObject during the scan
 * instead, up to `concurrency` at once. A file's mtime is its listed LastModified (milliseconds).
 * `open` streams GetObject pinned to the ETag seen (`If-Match`), checking the MD5 when the ETag is
 * one. The engine reads up to `concurrency` objects at once.
 *
 * With `versions: 'all'` the listing is ListObjectVersions (version-listing.ts): each key's first
 * version listed, when not a delete marker, is the plain tree's file as above (read by its version
 * id), and every version and delete marker is also a file of the versions tree (version-tree.ts,
 * docs/FORMAT.md §8.4), read (and reused) the same way by version id. A key's latest version is
 * thus two records with one content: they carry the same `sharedContent` key, so the engine reads
 * it once. Nothing is gathered per key.
 */
export class S3Source implements Source {
  readonly info: SourceInfo;
  /** Objects read at once by the engine, and HeadObject calls at once: the `concurrency` option. */
  readonly concurrency: number;
  readonly #conn: S3Connection;
  readonly #prefix: string;
  readonly #retry: RetryPolicy;
  readonly #refreshMetadata: boolean;
  readonly #allVersions: boolean;

  constructor(config: S3SourceConfig) {
    const { location } = config.settings;
    this.#conn = createS3Connection(config.settings);
    this.#prefix = location.prefix;
    this.concurrency = config.settings.concurrency;
    this.#retry = config.retry ?? config.settings.retry;
    this.#refreshMetadata = config.refreshMetadata ?? false;
    this.#allVersions = config.versions === 'all';
    // The root is the prefix as a path: `/` for the whole bucket, `/photos/` for `photos/`.
    this.info = {
      protocol: 's3',
      origin: `${location.host}/${location.bucket}`,
      root: `/${location.prefix}`,
    };
  }

  async *scan(signal?: AbortSignal, context?: ScanContext): AsyncIterable<SourceRecord> {
    signal?.throwIfAborted();
    const previous = this.#refreshMetadata ? undefined : context?.previous?.bind(context);
    for await (const record of this.#records(signal, previous)) {
      // An abort stops the scan at the next record, whatever was already prepared.
      signal?.throwIfAborted();
      yield record;
    }
  }

  async *#records(
    signal: AbortSignal | undefined,
    previous: PreviousLookup | undefined,
  ): AsyncGenerator<SourceRecord> {
    const tree = new KeyTree<ScanItem>();
    const inFlight = new SettleQueue<Outcome>();
    const take = async (): Promise<SourceRecord> => {
      const outcome = await inFlight.take();
      if ('fatal' in outcome) throw outcome.fatal;
      return outcome.record;
    };
    const handle = async function* (
      this: S3Source,
      events: TreeEvent<ScanItem>[],
    ): AsyncGenerator<SourceRecord> {
      for (const ev of events) {
        if (ev.kind === 'dir') {
          yield this.#directory(ev);
          continue;
        }
        while (inFlight.size >= this.concurrency) yield await take();
        inFlight.add(this.#file(ev, signal, previous));
      }
    }.bind(this);
    // Stopped early: the lookups and heads still running finish on their own (an Outcome never
    // rejects, and the queue observes every promise it holds).
    if (this.#allVersions) {
      const versions = new VersionTree();
      let lastKey: string | undefined;
      for await (const v of listObjectVersions(this.#conn, this.#prefix, this.#retry, signal)) {
        signal?.throwIfAborted();
        const rel = v.key.slice(this.#prefix.length);
        // A key's first version listed is its current one: the plain tree's file, unless deleted.
        const current = v.key !== lastKey;
        lastKey = v.key;
        const { path, filterAs, closed } = versions.push(rel, v.versionId, v.lastModifiedMs);
        for (const d of closed) yield versionDirectory(d);
        const listedMetadata = versionMetadata(v);
        if (v.deleteMarker) {
          yield deleteMarkerRecord(path, filterAs, v.key, v.lastModifiedMs, listedMetadata);
          continue;
        }
        const pair = current ? latestVersionPair(v.key, v.versionId, listedMetadata) : undefined;
        const item: ScanItem = { ...v, listedMetadata, filterAs, sharedContent: pair?.version };
        yield* handle([{ kind: 'file', path, key: rel, item }]);
        if (pair !== undefined) {
          yield* handle(tree.push(rel, { ...v, sharedContent: pair.plain }, v.lastModifiedMs));
        }
      }
      for (const d of versions.end()) yield versionDirectory(d);
    } else {
      for await (const obj of listObjects(this.#conn, this.#prefix, this.#retry, signal)) {
        signal?.throwIfAborted();
        yield* handle(tree.push(obj.key.slice(this.#prefix.length), obj, obj.lastModifiedMs));
      }
    }
    yield* handle(tree.end());
    while (inFlight.size > 0) yield await take();
  }

  #directory(ev: DirEvent): SourceRecord {
    return {
      path: ev.path,
      type: 'directory',
      size: 0,
      mtime: timestamp(ev.mtimeMs),
      metadata: { [META_PREFIX]: `${this.#prefix}${ev.prefix}` },
      open: noContent,
    };
  }

  /** The record of a file event (with its `filterAs`, for a version). */
  async #file(
    ev: FileEvent<ScanItem>,
    signal: AbortSignal | undefined,
    previous: PreviousLookup | undefined,
  ): Promise<Outcome> {
    const outcome = await this.#fileOutcome(ev, signal, previous);
    const { filterAs, sharedContent } = ev.item;
    if ((filterAs === undefined && sharedContent === undefined) || !('record' in outcome)) return outcome;
    if (outcome.record.error !== undefined)
      return { record: { ...outcome.record, ...(filterAs ? { filterAs } : {}) } };
    return {
      record: {
        ...outcome.record,
        ...(filterAs ? { filterAs } : {}),
        ...(sharedContent ? { sharedContent } : {}),
      },
    };
  }

  async #fileOutcome(
    ev: FileEvent<ScanItem>,
    signal: AbortSignal | undefined,
    previous: PreviousLookup | undefined,
  ): Promise<Outcome> {
    const key = `${this.#prefix}${ev.key}`;
    const { versionId, listedMetadata } = ev.item;
    if (previous !== undefined) {
      let metadata: Record<string, string> | undefined;
      try {
        metadata = reusableMetadata(key, ev.item, await previous(ev.path), versionId);
      } catch (err) {
        return { fatal: err };
      }
      if (metadata !== undefined) {
        const etag = ev.item.etag;
        const checkMd5 = etagIsBodyMd5({ ETag: etag, ServerSideEncryption: metadata[META_SSE] });
        const { size, lastModifiedMs: mtimeMs } = ev.item;
        metadata = { ...metadata, ...listedMetadata };
        return { record: this.#fileRecord(ev, { key, versionId, size, mtimeMs, metadata, etag, checkMd5 }) };
      }
    }
    if (!this.#refreshMetadata && ev.item.etag !== undefined) {
      return { record: this.#recordReadWithMetadata(ev, key, ev.item.etag, signal) };
    }
    let head: HeadObjectCommandOutput;
    let tags: Tag[] = [];
    try {
      head = await headObject(this.#conn, key, this.#retry, signal, versionId);
      if ((head.TagCount ?? 0) > 0)
        tags = await objectTags(
          this.#conn,
          key,
          versionId ?? head.VersionId,
          this.#retry,
          signal,
          versionId !== undefined,
        );
    } catch (err) {
      if (signal?.aborted || (isConnectorError(err) && err.code === 'auth')) return { fatal: err };
      return { record: this.#failed(ev, key, err) };
    }
    // The listed LastModified has milliseconds, HeadObject's whole seconds: keep the listed one
    // unless the object changed between the listing and the HEAD.
    const sameObject =
      head.ETag !== undefined &&
      ev.item.etag !== undefined &&
      unquoteEtag(head.ETag) === unquoteEtag(ev.item.etag);
    return {
      record: this.#fileRecord(ev, {
        key,
        versionId,
        size: head.ContentLength ?? ev.item.size,
        mtimeMs: sameObject
          ? ev.item.lastModifiedMs
          : (head.LastModified?.getTime() ?? ev.item.lastModifiedMs),
        metadata: { ...objectMetadata(key, head, tags, ev.item.storageClass), ...listedMetadata },
        etag: head.ETag,
        checkMd5: etagIsBodyMd5(head),
      }),
    };
  }

  #fileRecord(ev: FileEvent<ScanItem>, f: FileFacts): SourceRecord {
    const toRead = {
      key: f.key,
      ...(f.versionId !== undefined ? { versionId: f.versionId } : {}),
      size: f.size,
      ...(f.etag !== undefined ? { etag: f.etag } : {}),
      checkMd5: f.checkMd5,
    };
    const conn = this.#conn;
    const retry = this.#retry;
    return {
      path: ev.path,
      type: 'file',
      size: f.size,
      mtime: timestamp(f.mtimeMs),
      metadata: f.metadata,
      ...(f.etag !== undefined ? { changeToken: unquoteEtag(f.etag) } : {}),
      open: async () => readObject(conn, toRead, retry),
    };
  }

  /**
   * The record of an object to be read, whose headers, user metadata and tags come with its content:
   * `metadataOnOpen`, with the key, the listed ETag and storage class until then.
   */
  #recordReadWithMetadata(
    ev: FileEvent<ScanItem>,
    key: string,
    etag: string,
    signal: AbortSignal | undefined,
  ): SourceRecord {
    const { size, lastModifiedMs, storageClass, versionId, listedMetadata } = ev.item;
    const conn = this.#conn;
    const retry = this.#retry;
    return {
      path: ev.path,
      type: 'file',
      size,
      mtime: timestamp(lastModifiedMs),
      metadata: {
        [META_KEY]: key,
        [META_ETAG]: unquoteEtag(etag),
        ...(storageClass !== undefined ? { [META_STORAGE_CLASS]: storageClass } : {}),
        ...listedMetadata,
      },
      changeToken: unquoteEtag(etag),
      metadataOnOpen: true,
      open: async (): Promise<OpenedContent> => {
        // Pinned to the listed ETag: the headers and the body are those of the object listed.
        const toRead = { key, size, etag, ...(versionId !== undefined ? { versionId } : {}) };
        const { answer, body, discard } = await openObject(conn, toRead, retry);
        let tags: Tag[] = [];
        try {
          if ((answer.TagCount ?? 0) > 0)
            tags = await objectTags(
              conn,
              key,
              versionId ?? answer.VersionId,
              retry,
              signal,
              versionId !== undefined,
            );
        } catch (err) {
          discard();
          throw err;
        }
        const metadata = { ...objectMetadata(key, answer, tags, storageClass), ...listedMetadata };
        return Object.assign(body, { metadata });
      },
    };
  }

  #failed(ev: FileEvent<ScanItem>, key: string, err: unknown): SourceRecord {
    const message = err instanceof Error ? err.message : String(err);
    const vanished = isConnectorError(err, 'not_found') ? ' (deleted since it was listed?)' : '';
    return {
      path: ev.path,
      type: 'file',
      size: ev.item.size,
      mtime: timestamp(ev.item.lastModifiedMs),
      metadata: { [META_KEY]: key, ...ev.item.listedMetadata },
      error: `${message}${vanished}`,
      open: () => Promise.reject(new ConnectorError('not_found', message)),
    };
  }

  async close(): Promise<void> {
    this.#conn.destroy();
  }
}
