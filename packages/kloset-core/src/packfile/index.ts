/** Packfiles (FORMAT.md §5): the writer, the readers, and the index and footer codecs. */
export * from './footer.ts';
export * from './index-codec.ts';
export * from './reader.ts';
export * from './writer.ts';
