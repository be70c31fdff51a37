/** Content-defined chunking (FORMAT.md §7). */
export * from './fastcdc.ts';
