/** Byte helpers and the MessagePack conventions of the format (FORMAT.md, Notation). */
export * from './bytes.ts';
export * from './msgpack.ts';
export * from './msgpack-readers.ts';
