/** Shapes of the JSON vector files in this directory (hex strings for bytes). */

export interface Argon2Vectors {
  readonly cases: ReadonlyArray<{
    readonly passphrase: string;
    readonly salt: string;
    readonly memory_kib: number;
    readonly passes: number;
    readonly parallelism: number;
    readonly tag_length: number;
    readonly output: string;
  }>;
}

export interface KeyVectors {
  readonly master_key: string;
  readonly store_id: string;
  readonly mac_key: string;
  readonly enc_key: string;
  readonly gear_key: string;
  readonly gear_first_8: number[];
  readonly gear_last: number;
  readonly wrap: {
    readonly passphrase: string;
    readonly kdf: {
      readonly salt: string;
      readonly memory_kib: number;
      readonly passes: number;
      readonly parallelism: number;
    };
    readonly kek: string;
    readonly aad: string;
    readonly nonce: string;
    readonly wrapped_key: string;
  };
}

export interface BlobIdVectors {
  readonly cases: ReadonlyArray<{ readonly data: string; readonly id: string }>;
}

export interface SealCase {
  readonly name: string;
  readonly plaintext_store: boolean;
  readonly object_salt: string;
  readonly object_key: string;
  readonly nonce: string;
  readonly aad: string;
  readonly codec: 0 | 1;
  readonly body: string;
  readonly plaintext: string;
  readonly sealed: string;
}

export interface SealVectors {
  readonly cases: readonly SealCase[];
  readonly failures: readonly SealCase[];
  readonly resources: ReadonlyArray<{
    readonly plaintext_store: boolean;
    readonly kind: 'state' | 'snapshot' | 'lock';
    readonly resource_id: string;
    readonly body: string;
    readonly bytes: string;
  }>;
}

export interface ChunkingVectors {
  readonly input: {
    readonly prng: 'xorshift32';
    readonly seed: number;
    readonly length: number;
    readonly sha256: string;
  };
  readonly master_key: string;
  readonly store_id: string;
  readonly cases: ReadonlyArray<{
    readonly params: {
      readonly min: number;
      readonly avg: number;
      readonly max: number;
      readonly normalization: number;
    };
    readonly mask_s: string;
    readonly mask_l: string;
    readonly count: number;
    readonly lengths_sha256: string;
    readonly lengths?: number[];
  }>;
}

export interface ConfigVectors {
  readonly cases: ReadonlyArray<{
    readonly name: string;
    readonly passphrase: string | null;
    readonly bytes: string;
    readonly store_id: string;
    readonly mac_key: string;
    readonly enc_key: string;
    readonly created: number;
    readonly chunking: {
      readonly algorithm: string;
      readonly min: number;
      readonly avg: number;
      readonly max: number;
      readonly normalization: number;
    };
    readonly packfile_size: number;
    readonly compression: string;
  }>;
}
