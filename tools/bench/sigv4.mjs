// A/B of the two SigV4 signers for the S3 data plane: the project's SigV4Signer (s3-common sigv4.ts,
// synchronous, signing key cached per day and region) against @smithy/signature-v4 (the AWS SDK's,
// asynchronous, its own key cache), on the requests a backup and a restore sign: GetObject with
// If-Match, UploadPart with a query string. Rounds alternate which signer goes first.
// Run: node --conditions=kloset-source tools/bench/sigv4.mjs [REQUESTS] [ROUNDS]
import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery, encodeKeyPath, SigV4Signer } from '@kloset/s3-common';
import { SignatureV4 } from '@smithy/signature-v4';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const creds = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const region = 'us-east-1';
const host = '127.0.0.1:7480';

/** node:crypto behind the Checksum interface smithy wants (SHA-256, or HMAC-SHA-256 with a secret). */
class Sha256 {
  constructor(secret) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data) {
    this.h.update(data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
  reset() {}
}

const smithy = new SignatureV4({
  credentials: creds,
  region,
  service: 's3',
  sha256: Sha256,
  uriEscapePath: false,
  applyChecksum: false,
});
const ours = new SigV4Signer();

function request(i) {
  const key = `bench/dir-${i % 97}/object ${i}.bin`;
  return i % 2 === 0
    ? { method: 'GET', key, query: {}, headers: { 'if-match': '"0123456789abcdef0123456789abcdef"' } }
    : {
        method: 'PUT',
        key,
        query: { partNumber: String((i % 100) + 1), uploadId: '2~abcdefghijklmnop' },
        headers: { 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==', 'content-length': '8388608' },
      };
}

function signOurs(i, now) {
  const r = request(i);
  const headers = { ...r.headers, host };
  ours.sign(
    { method: r.method, path: `/bucket/${encodeKeyPath(r.key)}`, query: canonicalQuery(r.query), headers },
    creds,
    region,
    now,
  );
  return headers.authorization;
}

async function signSmithy(i, now) {
  const r = request(i);
  const signed = await smithy.sign(
    {
      method: r.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 7480,
      path: `/bucket/${encodeKeyPath(r.key)}`,
      query: r.query,
      headers: { ...r.headers, host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { signingDate: new Date(now) },
  );
  return signed.headers.authorization;
}

// Both must sign alike first.
const now = Date.UTC(2026, 11, 5, 10, 0, 0);
for (let i = 0; i < 4; i++) {
  const a = signOurs(i, now);
  const b = await signSmithy(i, now);
  if (a !== b) throw new Error(`signatures differ for request ${i}:\n ours   ${a}\n smithy ${b}`);
}

async function time(fn) {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < N; i++) await fn(i, now);
  const cpu = process.cpuUsage(t0);
  return { wall: performance.now() - w0, cpu: (cpu.user + cpu.system) / 1000 };
}

const rows = { ours: [], smithy: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['ours', 'smithy'] : ['smithy', 'ours'];
  for (const name of order)
    rows[name].push(await time(name === 'ours' ? async (i, t) => signOurs(i, t) : signSmithy));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, rs] of Object.entries(rows)) {
  const us = (median(rs.map((r) => r.wall)) * 1000) / N;
  console.log(
    `${name.padEnd(7)} ${us.toFixed(2)} us/request (median of ${ROUNDS} rounds of ${N}; rounds ${rs.map((r) => ((r.wall * 1000) / N).toFixed(2)).join(' ')})`,
  );
}
console.log(
  `smithy / ours: x${(median(rows.smithy.map((r) => r.wall)) / median(rows.ours.map((r) => r.wall))).toFixed(2)}`,
);
