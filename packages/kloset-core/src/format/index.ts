/** The store config codec (FORMAT.md §2) and the MessagePack conventions of the format. */
export * from './config.ts';
export * from './msgpack.ts';
