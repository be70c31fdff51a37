/** `kloset pkg rm NAME`: removes an installed package; named configurations are kept. */
import { protocolOf } from '@kloset/connector-contract';
import { CONFIG_KINDS } from '../config/named-config.ts';
import { packagesDir } from '../config/paths.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { installedDir, readInstalled, readManifestIn, removeInstalled } from '../pkg/layout.ts';
import { protocolsOf } from '../pkg/package-manifest.ts';
import type { Command, CommandContext } from './command.ts';

/** `@name`s of the named configurations whose location uses one of `protocols`. */
async function configsUsing(ctx: CommandContext, protocols: readonly string[]): Promise<string[]> {
  const config = await ctx.services.config();
  return CONFIG_KINDS.flatMap((kind) =>
    config
      .names(kind)
      .filter((n) => protocols.includes(protocolOf(config.require(kind, n).location)))
      .map((n) => `${kind} @${n}`),
  );
}

export const pkgRmCommand: Command = {
  words: ['pkg', 'rm'],
  summary: 'remove an installed connector package',
  description:
    'Removes package NAME. Named sources, stores and destinations that use it are kept (they live\n' +
    'in the configuration file) and work again once the package is added back.',
  usesStore: false,
  flags: [],
  args: [{ name: 'NAME', required: true, description: 'the package name (s3)' }],
  json: '{"name", "version", "removed": true, "kept_configurations": ["source @NAME", ...]}',
  examples: ['kloset pkg rm s3', 'kloset pkg add s3'],
  async run(ctx) {
    const name = ctx.args[0]!;
    const dir = packagesDir(ctx.io.env);
    if ((await ctx.services.connectors()).builtinNames().includes(name)) {
      throw new CliError(`pkg rm ${name}: ${name} is built in and cannot be removed`);
    }
    const where = await installedDir(dir, name);
    if (where === undefined) {
      const names = (await readInstalled(dir)).packages.map((p) => p.name);
      throw new CliError(
        `pkg rm ${name}: no package ${JSON.stringify(name)} is installed (installed: ${names.join(', ') || 'none'})`,
      );
    }
    const manifest = await readManifestIn(where).catch(() => undefined);
    await removeInstalled(dir, name);
    const kept = manifest ? await configsUsing(ctx, protocolsOf(manifest)) : [];
    const version = manifest?.version ?? null;
    await ctx.out.result({ name, version, removed: true, kept_configurations: kept }, () => [
      `removed ${name}${version ? ` v${version}` : ''}` +
        (kept.length ? ` (kept ${kept.length} configurations that use it: ${kept.join(', ')})` : ''),
    ]);
    return ExitCode.Ok;
  },
};
