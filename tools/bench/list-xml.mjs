// A/B of the ListObjectsV2 page parsers: parseListPage of s3-common (saxes, strict XML 1.0)
// against the hand-written indexOf scanner it replaced (ed1ac58, copied below), on a page of 1,000
// keys as RGW writes it (Owner, StorageClass, entities in some keys). Rounds alternate which goes
// first. Prints ms per page; a 100k-object bucket is 100 pages.
// Run: node --conditions=kloset-source tools/bench/list-xml.mjs [PAGES] [ROUNDS]
import { parseListPage } from '@kloset/s3-common';

const PAGES = Number(process.argv[2] ?? 300);
const ROUNDS = Number(process.argv[3] ?? 5);

function page(n) {
  const items = [];
  for (let i = 0; i < n; i++) {
    const key = i % 50 === 0 ? `logs/2026/12/05/a&amp;b-${i}.json` : `logs/2026/12/05/event-${i}.json`;
    items.push(
      `<Contents><Key>${key}</Key><LastModified>2026-12-05T09:${String(i % 60).padStart(2, '0')}:00.000Z</LastModified>` +
        `<ETag>&quot;${i.toString(16).padStart(32, '0')}&quot;</ETag><Size>${100 + i}</Size>` +
        '<StorageClass>STANDARD</StorageClass><Owner><ID>testuser</ID><DisplayName>Test</DisplayName></Owner>' +
        '<Type>Normal</Type></Contents>',
    );
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>bench</Name><Prefix></Prefix><KeyCount>${n}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>` +
    `${items.join('')}<NextContinuationToken>1-abc</NextContinuationToken></ListBucketResult>`
  );
}

// ---- the hand-written parser of ed1ac58 (packages/s3-common/src/list-objects.ts), types removed
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function xmlUnescape(text) {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, e) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}
function field(xml, tag) {
  const open = xml.indexOf(`<${tag}>`);
  if (open < 0) return undefined;
  const start = open + tag.length + 2;
  const end = xml.indexOf(`</${tag}>`, start);
  return end < 0 ? undefined : xmlUnescape(xml.slice(start, end));
}
function handParse(xml) {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new Error('not a ListObjectsV2 answer');
  const contents = [];
  let at = 0;
  for (;;) {
    const open = xml.indexOf('<Contents>', at);
    if (open < 0) break;
    const close = xml.indexOf('</Contents>', open);
    if (close < 0) throw new Error('cut');
    const item = xml.slice(open + 10, close);
    at = close + 11;
    const key = field(item, 'Key');
    if (key === undefined) continue;
    const size = field(item, 'Size');
    const modified = field(item, 'LastModified');
    const etag = field(item, 'ETag');
    const storageClass = field(item, 'StorageClass');
    const date = modified === undefined ? undefined : new Date(modified);
    contents.push({
      Key: key,
      ...(size !== undefined && /^\d+$/.test(size) ? { Size: Number(size) } : {}),
      ...(date !== undefined && !Number.isNaN(date.getTime()) ? { LastModified: date } : {}),
      ...(etag !== undefined ? { ETag: etag } : {}),
      ...(storageClass !== undefined ? { StorageClass: storageClass } : {}),
    });
  }
  const first = xml.indexOf('<Contents>');
  const outside = xml.slice(0, first < 0 ? xml.length : first) + xml.slice(at);
  const token = field(outside, 'NextContinuationToken');
  return {
    Contents: contents,
    IsTruncated: field(outside, 'IsTruncated') === 'true',
    NextContinuationToken: token,
  };
}
// ----

const xml = page(1000);
const a = parseListPage(xml);
const b = handParse(xml);
const same = (x, y) =>
  x.Contents.length === y.Contents.length &&
  x.Contents.every(
    (c, i) =>
      c.Key === y.Contents[i].Key &&
      c.Size === y.Contents[i].Size &&
      c.ETag === y.Contents[i].ETag &&
      c.LastModified.getTime() === y.Contents[i].LastModified.getTime(),
  );
if (!same(a, b) || a.NextContinuationToken !== b.NextContinuationToken)
  throw new Error('the parsers disagree');

function time(fn) {
  const t0 = performance.now();
  for (let i = 0; i < PAGES; i++) fn(xml);
  return (performance.now() - t0) / PAGES;
}
for (let i = 0; i < 50; i++) {
  parseListPage(xml);
  handParse(xml);
}
const lib = [];
const hand = [];
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2 === 0) {
    lib.push(time(parseListPage));
    hand.push(time(handParse));
  } else {
    hand.push(time(handParse));
    lib.push(time(parseListPage));
  }
}
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
console.log(`page: 1,000 keys, ${(xml.length / 1024).toFixed(0)} KiB; ${PAGES} pages x ${ROUNDS} rounds`);
console.log(
  `saxes (parseListPage):           ${median(lib).toFixed(2)} ms/page (${lib.map((v) => v.toFixed(2)).join(' ')})`,
);
console.log(
  `hand-written (ed1ac58):          ${median(hand).toFixed(2)} ms/page (${hand.map((v) => v.toFixed(2)).join(' ')})`,
);
console.log(`ratio lib/hand: x${(median(lib) / median(hand)).toFixed(2)}`);
