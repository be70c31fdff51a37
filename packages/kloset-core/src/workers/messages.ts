/** Messages between the main thread and crypto workers (structured-clone friendly). */
import type { OpenBlobsRequest } from './open-blobs.ts';

/** Open the blobs of one ranged read held in `buffer` (transferred to the worker). */
export interface WorkerRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly open: OpenBlobsRequest;
}

/** One blob's outcome: its plaintext in the request's buffer, in its own buffer, or a reason. */
export type WorkerBlobResult =
  | { readonly ok: true; readonly inBuffer: true; readonly start: number; readonly length: number }
  | {
      readonly ok: true;
      readonly inBuffer: false;
      readonly buffer: ArrayBuffer;
      readonly start: number;
      readonly length: number;
    }
  | { readonly ok: false; readonly reason: string };

/** The answer to a WorkerRequest; `buffer` comes back (transferred) with the plaintexts in it. */
export type WorkerReply =
  | { readonly id: number; readonly buffer: ArrayBuffer; readonly results: readonly WorkerBlobResult[] }
  | { readonly id: number; readonly buffer: ArrayBuffer; readonly error: string };
