/** Tasks of the crypto workers and their results (structured-clone friendly). */
import type { OpenBlobsRequest } from './open-blobs.ts';

/** Open the blobs of one ranged read held in `buffer` (transferred to the worker). */
export interface OpenRequest {
  readonly op: 'open';
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly open: OpenBlobsRequest;
}

/** Compress the payload held in `buffer` (transferred) if it pays, as compressIfPays does. */
export interface CompressRequest {
  readonly op: 'compress';
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly level: number;
}

export type WorkerRequest = OpenRequest | CompressRequest;

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

/** The answer to an OpenRequest; `buffer` comes back (transferred) with the plaintexts in it. */
export interface OpenReply {
  readonly op: 'open';
  readonly buffer: ArrayBuffer;
  readonly results: readonly WorkerBlobResult[];
}

/**
 * The answer to a CompressRequest: the compression byte and, when compressed, the body (its own,
 * transferred buffer); when not, the caller keeps its data as is.
 */
export type CompressReply =
  | { readonly op: 'compress'; readonly codec: 0 }
  | { readonly op: 'compress'; readonly codec: number; readonly body: ArrayBuffer };

export type WorkerReply = OpenReply | CompressReply;
