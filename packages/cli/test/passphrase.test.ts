/** The prompt's line editing and the create confirmation, over a fake terminal. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.ts';
import type { Io } from '../src/io/io.ts';
import { obtainNewPassphrase } from '../src/passphrase/new-passphrase.ts';
import { obtainPassphrase } from '../src/passphrase/passphrase.ts';
import { readHidden } from '../src/passphrase/prompt.ts';

class FakeTty extends PassThrough {
  isRaw = false;
  readonly modes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.modes.push(mode);
    return this;
  }
}

function typeLater(tty: FakeTty, ...chunks: string[]): void {
  let delay = 5;
  for (const c of chunks) {
    setTimeout(() => tty.write(c), delay);
    delay += 5;
  }
}

function ttyIo(stdin: FakeTty, stderr: PassThrough, env: Record<string, string> = {}): Io {
  return {
    stdin,
    stdout: new PassThrough(),
    stderr,
    stdinIsTTY: true,
    stderrIsTTY: true,
    env,
    cwd: '/',
    signal: new AbortController().signal,
  };
}

describe('readHidden', () => {
  it('reads a line without echo, with backspace and ctrl-U, and restores the mode', async () => {
    const tty = new FakeTty();
    const err = new PassThrough();
    let shown = '';
    err.on('data', (c: Buffer) => (shown += c.toString()));
    typeLater(tty, 'junk\u0015', 'pass', 'x\u007f', 'wörd\r');
    expect(await readHidden(tty, err, 'passphrase: ')).toBe('passwörd');
    expect(shown).toBe('passphrase: \n');
    expect(tty.modes).toEqual([true, false]);
  });

  it('ctrl-C interrupts with exit 130; ctrl-D on an empty line fails', async () => {
    const a = new FakeTty();
    typeLater(a, 'ab\u0003');
    await expect(readHidden(a, new PassThrough(), '')).rejects.toMatchObject({
      exitCode: ExitCode.Interrupted,
    });
    const b = new FakeTty();
    typeLater(b, '\u0004');
    await expect(readHidden(b, new PassThrough(), '')).rejects.toThrow(/no passphrase entered/);
    const c = new FakeTty();
    setTimeout(() => c.end(), 5);
    await expect(readHidden(c, new PassThrough(), '')).rejects.toThrow(/end of input/);
  });
});

describe('obtainPassphrase on a terminal', () => {
  it('asks twice at create and accepts matching answers', async () => {
    const tty = new FakeTty();
    typeLater(tty, 'same\r', 'same\n');
    expect(await obtainPassphrase(ttyIo(tty, new PassThrough()), {}, '/store', true)).toEqual({
      value: 'same',
      origin: 'prompt',
    });
  });

  it('refuses a mismatch and an empty passphrase', async () => {
    const a = new FakeTty();
    typeLater(a, 'one\r', 'two\r');
    await expect(obtainPassphrase(ttyIo(a, new PassThrough()), {}, '/s', true)).rejects.toThrow(
      'the passphrases do not match',
    );
    const b = new FakeTty();
    typeLater(b, '\r');
    await expect(obtainPassphrase(ttyIo(b, new PassThrough()), {}, '/s', false)).rejects.toThrow(
      /cannot be empty/,
    );
  });

  it('does not prompt when the configuration or the environment has one', async () => {
    const tty = new FakeTty();
    const io = ttyIo(tty, new PassThrough(), { KLOSET_PASSPHRASE: 'env' });
    expect(await obtainPassphrase(io, { configured: 'conf' }, '/s', true)).toEqual({
      value: 'conf',
      origin: 'config',
    });
    expect(await obtainPassphrase(io, { keyfile: '/nonexistent' }, '/s', true)).toEqual({
      value: 'env',
      origin: 'env',
    });
    expect(tty.modes).toEqual([]);
  });
});

describe('obtainNewPassphrase (passphrase change)', () => {
  it('asks twice on a terminal and returns it when both match', async () => {
    const tty = new FakeTty();
    const err = new PassThrough();
    let shown = '';
    err.on('data', (c: Buffer) => (shown += c.toString()));
    typeLater(tty, 'new one\r', 'new one\r');
    expect(await obtainNewPassphrase(ttyIo(tty, err), undefined, '/s')).toBe('new one');
    expect(shown).toBe('new passphrase for /s: \nnew passphrase (again): \n');
  });

  it('refuses a mismatch and an empty one', async () => {
    const a = new FakeTty();
    typeLater(a, 'one\r', 'two\r');
    await expect(obtainNewPassphrase(ttyIo(a, new PassThrough()), undefined, '/s')).rejects.toThrow(
      'the new passphrases do not match',
    );
    const b = new FakeTty();
    typeLater(b, '\r');
    await expect(obtainNewPassphrase(ttyIo(b, new PassThrough()), undefined, '/s')).rejects.toThrow(
      'the new passphrase cannot be empty',
    );
  });

  it('takes KLOSET_NEW_PASSPHRASE without prompting', async () => {
    const tty = new FakeTty();
    const io = ttyIo(tty, new PassThrough(), { KLOSET_NEW_PASSPHRASE: 'from env' });
    expect(await obtainNewPassphrase(io, undefined, '/s')).toBe('from env');
    expect(tty.modes).toEqual([]);
  });
});
