/**
 * The XML documents S3 answers with (ListObjectsV2 pages, error bodies), read by saxes, a strict
 * XML 1.0 parser: a document that is not well formed (a tag left open, an unknown entity, text
 * after the root) throws. What is kept is element text only (attributes ignored), as strings (no
 * number or boolean guessing, no trimming: keys may begin or end with spaces), with the XML and
 * numeric character entities decoded.
 *
 * saxes, not fast-xml-parser: on a page of 1,000 keys it takes a few ms where fast-xml-parser
 * takes 35-45 ms (tools/bench/list-xml.mjs), and a listing is read on the thread that also chunks
 * and encrypts: 40 s of that thread for a bucket of a million objects.
 */
import { SaxesParser } from 'saxes';

/** A parsed element: text, or an object of child elements. */
export type XmlNode = string | { readonly [name: string]: XmlNode | readonly XmlNode[] | undefined };

type Children = Record<string, XmlNode | XmlNode[] | undefined>;

/** The elements that are lists even with one item (by path from the root). */
const LISTS = new Set(['ListBucketResult.Contents']);

interface Open {
  readonly name: string;
  readonly path: string;
  text: string;
  children: Children | undefined;
}

function add(into: Children, name: string, value: XmlNode, list: boolean): void {
  const had = into[name];
  if (had === undefined) into[name] = list ? [value] : value;
  else if (Array.isArray(had)) had.push(value);
  else into[name] = [had as XmlNode, value];
}

/**
 * Parses `xml` into the root element's name mapped to its content: an element with child
 * elements is an object of them (a name that repeats, or one of LISTS, maps to an array), any
 * other element is its text. Text beside child elements (indentation) is dropped. Throws on what
 * is not well-formed XML.
 */
export function parseXml(xml: string): Readonly<Record<string, XmlNode | undefined>> {
  const parser = new SaxesParser();
  const root: Record<string, XmlNode> = {};
  const stack: Open[] = [];
  const onText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += text;
  };
  parser.on('opentag', (tag) => {
    const parent = stack[stack.length - 1];
    stack.push({
      name: tag.name,
      path: parent === undefined ? tag.name : `${parent.path}.${tag.name}`,
      text: '',
      children: undefined,
    });
  });
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    const done = stack.pop();
    if (done === undefined) return;
    const parent = stack[stack.length - 1];
    const value = done.children ?? done.text;
    if (parent === undefined) root[done.name] = value;
    else {
      parent.children ??= {};
      add(parent.children, done.name, value, LISTS.has(done.path));
    }
  });
  parser.write(xml).close();
  return root;
}

/** The text of child `name` of `node` (undefined when it is missing or not text). */
export function xmlChild(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const v = node[name];
  return typeof v === 'string' ? v : undefined;
}
