/** The store config codec (FORMAT.md §2). */
export * from './config.ts';
