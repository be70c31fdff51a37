/**
 * ListObjectsV2: one page per request, over the data-plane transport (transport.ts), the
 * ListBucketResult parsed by saxes (xml.ts). Only what the connectors read is taken: each
 * object's Key, Size, LastModified, ETag and StorageClass, and the page's IsTruncated,
 * NextContinuationToken and EncodingType. Keys are asked URL-encoded (`encoding-type=url`: XML 1.0
 * cannot carry every byte a key may hold); listingKeyDecoder decodes them.
 */
import { readText } from './answer-text.ts';
import type { S3Transport } from './transport.ts';
import { parseXml, type XmlNode, xmlChild } from './xml.ts';

/** One page request. */
export interface ListObjectsRequest {
  readonly prefix?: string;
  readonly continuationToken?: string;
  /** At most this many keys (the server's default and maximum is 1,000). */
  readonly maxKeys?: number;
}

/** One listed object, as the SDK's `_Object` fields the connectors use. */
export interface ListedEntry {
  /** As sent: URL-encoded when the page's EncodingType is `url` (listingKeyDecoder). */
  readonly Key: string;
  readonly Size?: number;
  readonly LastModified?: Date;
  readonly ETag?: string;
  readonly StorageClass?: string;
}

/** One page. */
export interface ListPage {
  readonly Contents: ListedEntry[];
  readonly IsTruncated: boolean;
  readonly NextContinuationToken?: string;
  readonly EncodingType?: string;
}

function entry(item: XmlNode): ListedEntry | undefined {
  const key = xmlChild(item, 'Key');
  if (key === undefined) return undefined;
  const size = xmlChild(item, 'Size');
  const modified = xmlChild(item, 'LastModified');
  const etag = xmlChild(item, 'ETag');
  const storageClass = xmlChild(item, 'StorageClass');
  const date = modified === undefined ? undefined : new Date(modified);
  return {
    Key: key,
    ...(size !== undefined && /^\d+$/.test(size) ? { Size: Number(size) } : {}),
    ...(date !== undefined && !Number.isNaN(date.getTime()) ? { LastModified: date } : {}),
    ...(etag !== undefined ? { ETag: etag } : {}),
    ...(storageClass !== undefined ? { StorageClass: storageClass } : {}),
  };
}

/** Parses a ListBucketResult (ListObjectsV2) document; throws on anything else, or on XML that is not well formed. */
export function parseListPage(xml: string): ListPage {
  let doc: ReturnType<typeof parseXml>;
  try {
    doc = parseXml(xml);
  } catch (err) {
    throw new Error(`ListObjectsV2 answer is not well-formed XML: ${(err as Error).message}`);
  }
  const result = doc.ListBucketResult;
  if (result === undefined || typeof result === 'string') throw new Error('not a ListObjectsV2 answer');
  const items = result.Contents;
  const contents: ListedEntry[] = [];
  for (const item of Array.isArray(items) ? items : []) {
    const e = entry(item);
    if (e !== undefined) contents.push(e);
  }
  const token = xmlChild(result, 'NextContinuationToken');
  const encoding = xmlChild(result, 'EncodingType');
  return {
    Contents: contents,
    IsTruncated: xmlChild(result, 'IsTruncated') === 'true',
    ...(token !== undefined ? { NextContinuationToken: token } : {}),
    ...(encoding !== undefined ? { EncodingType: encoding } : {}),
  };
}

/** One page; throws as every transport request does (S3ResponseError, network, timeout). */
export async function listObjects(transport: S3Transport, req: ListObjectsRequest): Promise<ListPage> {
  const query: Record<string, string> = { 'list-type': '2', 'encoding-type': 'url' };
  if (req.prefix) query.prefix = req.prefix;
  if (req.continuationToken) query['continuation-token'] = req.continuationToken;
  if (req.maxKeys !== undefined) query['max-keys'] = String(req.maxKeys);
  const res = await transport.send({ method: 'GET', key: '', query });
  return parseListPage(await readText(res.body));
}
