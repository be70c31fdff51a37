import { ExitCode } from '../exit-codes.ts';
import { cliVersion } from '../version.ts';
import type { Command } from './command.ts';

export const versionCommand: Command = {
  words: ['version'],
  summary: 'print the version',
  usesStore: false,
  flags: [],
  args: [],
  json: '{"version", "node", "format"}',
  async run(ctx) {
    const version = cliVersion();
    await ctx.out.result({ version, node: process.versions.node, format: 1 }, () => [
      `kloset ${version} (node ${process.versions.node}, store format v1)`,
    ]);
    return ExitCode.Ok;
  },
};
