export { type RunOptions, runCli } from './cli.ts';
export type { Command } from './commands/command.ts';
export { COMMANDS } from './commands/table.ts';
export type * from './engine/engine.ts';
export { EXIT_CODE_DOCS, ExitCode } from './exit-codes.ts';
export type { Io } from './io/io.ts';
