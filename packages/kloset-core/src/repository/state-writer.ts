/** Writing a `state` resource (FORMAT.md §6): sealed under a fresh random id, durable on return. */
import type { Storage } from '@kloset/connector-contract';
import type { CompressionMode } from '../crypto/compression.ts';
import type { KeyRing } from '../crypto/key-ring.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { sealResource } from '../crypto/seal.ts';
import { toHex } from '../encoding/bytes.ts';
import { encodeState, type StateBody } from './state-codec.ts';

/** What sealing and storing a state needs. */
export interface StateWriterContext {
  readonly storage: Storage;
  readonly provider: CryptoProvider;
  readonly keyRing: KeyRing;
  readonly compression: CompressionMode;
}

/** Seals `body` under a new random id and puts it; resolves with the id once the put is durable. */
export async function putState(ctx: StateWriterContext, body: StateBody): Promise<Uint8Array> {
  const stateId = ctx.provider.randomBytes(32);
  const sealed = await sealResource(
    ctx.provider,
    ctx.keyRing,
    'state',
    stateId,
    encodeState(body),
    ctx.compression,
  );
  await ctx.storage.put('state', toHex(stateId), sealed);
  return stateId;
}
