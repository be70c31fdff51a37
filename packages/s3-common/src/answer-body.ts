/**
 * One request's answer as undici delivers it through `dispatch` (framing by llhttp, strict: a
 * message with both Content-Length and Transfer-Encoding, two Content-Lengths or a body shorter
 * than its Content-Length is an error, never a body), handed to the caller as its status, its
 * headers and an async-iterable body. The body's chunks are undici's own buffers (views of the
 * socket's reads), queued up to HIGH_WATER bytes; past that the connection is paused until the
 * reader catches up, so a slow reader holds at most that much per request. Reading with
 * `dispatch` instead of undici's stream body costs less CPU per byte (no stream machinery).
 */
import type { Dispatcher } from 'undici';

/** An answer's body: read it to its end, or destroy it (which frees its connection). */
export interface AnswerBody extends AsyncIterable<Uint8Array> {
  destroy(): void;
}

/** Status, headers (names in lower case) and body of an answer. */
export interface Answer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AnswerBody;
}

/** Bytes queued before the connection is paused, and the level at which it resumes. */
export const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

type Controller = Dispatcher.DispatchController;

/**
 * The handler of one dispatched request: `answer` resolves once the final (non-1xx) headers are
 * in, or rejects with the request's error; the body then streams, or throws the error that ended it.
 */
export class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly answer: Promise<Answer>;
  #resolve!: (answer: Answer) => void;
  #reject!: (err: Error) => void;
  #controller: Controller | undefined;
  #started = false;
  readonly #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  /** The reader waiting for a chunk, the end or an error. */
  #wake: (() => void) | undefined;
  /** Set once the caller gave the body up: whatever comes after is dropped. */
  #discarded = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#abort(abortReason(this.#signal));

  constructor(signal?: AbortSignal) {
    this.answer = new Promise<Answer>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#signal?.aborted) controller.abort(abortReason(this.#signal));
    else if (this.#discarded) controller.abort(discardedError());
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[]>,
  ): void {
    if (statusCode < 200) return;
    this.#started = true;
    this.#resolve({ statusCode, headers, body: this.#body() });
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#discarded) return;
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER && !controller.paused) controller.pause();
    this.#wakeReader();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#done();
    this.#wakeReader();
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#done();
    if (!this.#started) {
      this.#reject(err);
      return;
    }
    this.#error = err;
    this.#wakeReader();
  }

  #done(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #abort(reason: Error): void {
    if (this.#controller !== undefined && !this.#controller.aborted) this.#controller.abort(reason);
  }

  /** Gives the body up: the connection is closed unless the answer already ended. */
  #discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#chunks.length = 0;
    this.#queued = 0;
    if (!this.#ended && this.#error === undefined) this.#abort(discardedError());
  }

  #body(): AnswerBody {
    const next = async (): Promise<IteratorResult<Uint8Array>> => {
      for (;;) {
        if (this.#discarded) return { done: true, value: undefined };
        const chunk = this.#chunks.shift();
        if (chunk !== undefined) {
          this.#queued -= chunk.length;
          const c = this.#controller;
          if (c?.paused && this.#queued <= LOW_WATER) c.resume();
          return { done: false, value: chunk };
        }
        if (this.#error !== undefined) throw this.#error;
        if (this.#ended) return { done: true, value: undefined };
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    };
    const iterator: AsyncIterator<Uint8Array> = {
      next,
      return: async () => {
        this.#discard();
        return { done: true, value: undefined };
      },
    };
    return {
      [Symbol.asyncIterator]: () => iterator,
      destroy: () => this.#discard(),
    };
  }
}

function discardedError(): Error {
  return Object.assign(new Error('the answer body was discarded'), { name: 'AbortError' });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error
    ? reason
    : Object.assign(new Error('the request was aborted'), { name: 'AbortError' });
}
