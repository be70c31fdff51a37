/**
 * Reads a line from a terminal without echoing it. Only ever called when stdin is a TTY: a pipe,
 * a file or a closed stdin never gets here, so it can never hang waiting for input that will not
 * come. Ctrl-C aborts (exit 130), Ctrl-D on an empty line fails, Backspace and Ctrl-U edit.
 */
import type { Readable, Writable } from 'node:stream';
import { CliError, PassphraseError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';

interface RawCapable {
  setRawMode?(mode: boolean): unknown;
  isRaw?: boolean;
}

export function readHidden(stdin: Readable, stderr: Writable, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tty = stdin as Readable & RawCapable;
    const wasRaw = tty.isRaw === true;
    let value = '';
    const done = (err: Error | undefined) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      tty.setRawMode?.(wasRaw);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        switch (ch) {
          case '\r':
          case '\n':
            return done(undefined);
          case '\u0003':
            return done(new CliError('interrupted', ExitCode.Interrupted));
          case '\u0004':
            if (value === '') return done(new PassphraseError('no passphrase entered'));
            return done(undefined);
          case '\u007f':
          case '\b':
            value = [...value].slice(0, -1).join('');
            break;
          case '\u0015':
            value = '';
            break;
          default:
            if (ch >= ' ') value += ch;
        }
      }
    };
    const onEnd = () => done(new PassphraseError('no passphrase entered (end of input)'));
    const onError = (err: Error) => done(new PassphraseError(`cannot read the passphrase: ${err.message}`));
    stderr.write(prompt);
    tty.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}
