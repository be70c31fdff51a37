/**
 * One retry and timeout policy for every store operation, through the built binary:
 * - an S3 store whose server accepts connections and never answers fails in one line naming the
 *   store and the operation, within the default deadline (50 s; it took 300 s: one attempt of
 *   undici's 300 s answer timeout), and says how to wait longer;
 * - the store's `timeout=` option moves the deadline, both ways;
 * - a refused port fails in one line within seconds;
 * - a garbage lock in a local store blocks writers with the line that names `unlock`, and
 *   `unlock` clears it.
 */
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, failsInOneLine, klosetIn, makeCliHome, ok, removeDir } from './helpers/cli-home.ts';

let home: CliHome;
let k: ReturnType<typeof klosetIn>;
let silent: Server;
const sockets = new Set<Socket>();
let silentHost: string;
/** Nothing listens there: connections are refused at once. */
const REFUSED = '127.0.0.1:1';

beforeAll(async () => {
  home = await makeCliHome('timeouts');
  k = klosetIn(home, { KLOSET_PASSPHRASE: 'timeouts' });
  ok(await k(['pkg', 'add', 's3']));
  // Accepts every connection, reads what comes, never answers.
  silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  silentHost = `127.0.0.1:${address.port}`;
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent?.close(() => resolve()));
  await removeDir(home?.dir);
});

async function timed(argv: readonly string[]): Promise<{ line: string; seconds: number }> {
  const started = Date.now();
  const r = await k(argv);
  const seconds = (Date.now() - started) / 1000;
  return { line: failsInOneLine(r), seconds };
}

async function addStore(name: string, host: string, more: readonly string[] = []): Promise<string> {
  const location = `s3://${host}/${name}-bucket`;
  ok(
    await k([
      'store',
      'add',
      name,
      `location=${location}`,
      'access_key=a',
      'secret_access_key=b',
      'use_tls=false',
      ...more,
    ]),
  );
  return location;
}

describe('an S3 store that never answers', () => {
  it('fails in one line naming the store and the operation, within the default 50 s', async () => {
    const location = await addStore('silent', silentHost);
    const { line, seconds } = await timed(['at', '@silent', 'ls']);
    expect(line).toMatch(
      new RegExp(
        `^kloset: store @silent \\(${location.replaceAll('.', '\\.')}\\): S3 GetObject on bucket "silent-bucket" key "config": no answer within the request timeout \\(UND_ERR_HEADERS_TIMEOUT\\) \\(gave up after 3 attempts over 4\\d s; timeout=50 s: 'kloset store set silent timeout=200' waits longer\\)$`,
      ),
    );
    // Three attempts of 15 s: not before 45 s, and within the deadline.
    expect(seconds).toBeGreaterThan(44);
    expect(seconds).toBeLessThan(55);
  }, 120_000);

  it('timeout= moves the deadline: 5 s gives up within 5 s, 60 s waits past the default', async () => {
    await addStore('quick', silentHost, ['timeout=5']);
    const quick = await timed(['at', '@quick', 'ls']);
    expect(quick.line).toMatch(/^kloset: store @quick .* key "config": no answer within the request timeout/);
    expect(quick.seconds).toBeLessThan(8);

    await addStore('patient', silentHost, ['timeout=60']);
    const patient = await timed(['at', '@patient', 'ls']);
    expect(patient.line).toMatch(/gave up after 3 attempts over 5\d s; timeout=60 s: /);
    expect(patient.seconds).toBeGreaterThan(52);
    expect(patient.seconds).toBeLessThan(62);
  }, 120_000);

  it('a timeout= out of bounds is refused by name', async () => {
    const argv = ['store', 'add', 'bad-timeout', `location=s3://${silentHost}/b-bucket`, 'timeout=1'];
    const added = await k(argv);
    // Refused when added, or else when used: either way one line naming the option.
    const r = added.code === 0 ? await k(['at', '@bad-timeout', 'ls']) : added;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^kloset: .*timeout.*\n$/);
  });
});

describe('an S3 store whose port refuses connections', () => {
  it('fails in one line naming the store and the endpoint within seconds', async () => {
    const location = await addStore('refused', REFUSED);
    const { line, seconds } = await timed(['at', '@refused', 'ls']);
    expect(
      line.startsWith(
        `kloset: store @refused (${location}): S3 GetObject on bucket "refused-bucket" key "config": cannot reach http://${REFUSED} (ECONNREFUSED) (gave up after 6 attempts)`,
      ),
    ).toBe(true);
    expect(seconds).toBeLessThan(15);
  }, 60_000);
});

describe('a lock that cannot be read', () => {
  it('blocks writers with one line naming the store and unlock; unlock removes it', async () => {
    const store = join(home.dir, 'local store');
    const data = join(home.dir, 'tree');
    await mkdir(data);
    await writeFile(join(data, 'f.txt'), 'f');
    ok(await k(['at', store, 'create']));
    ok(await k(['at', store, 'backup', data]));
    const id = 'ab'.repeat(32);
    // Sealed resources are salt(32) || AES-GCM body: these bytes fail authentication.
    await writeFile(join(store, 'locks', id), new Uint8Array(200).fill(0x5a));
    const expected = `kloset: lock ${id} in ${store} cannot be read (authentication failed); if no kloset command is running, remove it with 'kloset at '${store}' unlock'`;
    for (const argv of [
      ['at', store, 'backup', data],
      ['at', store, 'rm', 'latest'],
      ['at', store, 'maintenance'],
    ]) {
      expect(failsInOneLine(await k(argv)), argv.join(' ')).toBe(expected);
    }
    const unlocked = ok(await k(['at', store, 'unlock']));
    expect(unlocked.stdout).toBe('removed unreadable lock abababab\n');
    expect(readdirSync(join(store, 'locks'))).toEqual([]);
    ok(await k(['at', store, 'backup', data]));
    expect(ok(await k(['at', store, 'unlock'])).stdout).toBe('no locks\n');
  }, 120_000);
});
