/**
 * The XML documents S3 answers with (ListObjectsV2 pages, error bodies), read by fast-xml-parser:
 * element text only (attributes ignored), kept as strings (no number or boolean guessing, no
 * trimming: keys may begin or end with spaces), XML and numeric character entities decoded.
 */
import { XMLParser } from 'fast-xml-parser';

/** The elements that are lists even with one item. */
const LISTS = new Set(['ListBucketResult.Contents']);

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  jPath: true,
  isArray: (_name, path) => typeof path === 'string' && LISTS.has(path),
});

/** A parsed element: text, or an object of child elements. */
export type XmlNode = string | { readonly [name: string]: XmlNode | readonly XmlNode[] | undefined };

/** Parses `xml`; throws on what is not XML. */
export function parseXml(xml: string): Readonly<Record<string, XmlNode | undefined>> {
  return parser.parse(xml, true) as Record<string, XmlNode | undefined>;
}

/** The text of child `name` of `node` (undefined when it is missing or not text). */
export function xmlChild(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[name];
  return typeof v === 'string' ? v : undefined;
}
