/** `kloset pkg build NAME|DIR`: builds a package archive from its source, into the current directory. */
import { absolutePath } from '../config/paths.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes, formatDuration } from '../output/format.ts';
import { buildPackage } from '../pkg/build.ts';
import { findSourceToBuild } from '../pkg/lookup.ts';
import { type PackageSource, readPackageSource } from '../pkg/workspace.ts';
import type { Command } from './command.ts';

/** A directory when it looks like a path (`.`, `./x`, `/x`, `~/x`), else a package name. */
export function isPathArgument(arg: string): boolean {
  return arg === '.' || arg === '~' || arg.includes('/');
}

export const pkgBuildCommand: Command = {
  words: ['pkg', 'build'],
  summary: 'build a connector package archive from source',
  description:
    'Builds NAME (a package source of the kloset checkout the CLI runs from, e.g. s3) or the package\n' +
    'source in DIR into NAME_vVERSION_PLATFORM.tgz: the connectors and their dependencies bundled into\n' +
    'one ESM file (rolldown, from the checkout), with a manifest.json (name, version, platform, roles,\n' +
    'protocols, options, file digests). Install it with "kloset pkg add ./ARCHIVE". Offline.',
  usesStore: false,
  flags: [
    { name: 'out', kind: 'string', value: 'DIR', description: 'write the archive into DIR (default: .)' },
  ],
  args: [
    { name: 'NAME|DIR', required: true, description: 'a package name (s3) or a package source directory' },
  ],
  json: '{"name", "version", "platform", "archive", "size", "sha256", "duration_ms"}',
  examples: ['kloset pkg build s3', 'kloset pkg add ./s3_v0.1.0_linux_x64.tgz'],
  async run(ctx) {
    const arg = ctx.args[0]!;
    const started = Date.now();
    const outDir = absolutePath(ctx.flags.string('out') ?? '.', ctx.io.cwd, ctx.io.env);
    let result: Awaited<ReturnType<typeof buildPackage>>;
    try {
      const source: PackageSource = isPathArgument(arg)
        ? await readPackageSource(absolutePath(arg, ctx.io.cwd, ctx.io.env))
        : await findSourceToBuild(arg);
      result = await buildPackage(source, outDir);
    } catch (err) {
      throw new CliError(`pkg build ${arg}: ${(err as Error).message}`, ExitCode.Error, { cause: err });
    }
    const m = result.manifest;
    const ms = Date.now() - started;
    await ctx.out.result(
      {
        name: m.name,
        version: m.version,
        platform: m.platform,
        archive: result.archive,
        size: result.size,
        sha256: result.sha256,
        duration_ms: ms,
      },
      () => [
        `built ${m.name} v${m.version} for ${m.platform}: ${result.archive} (${formatBytes(result.size)}) in ${formatDuration(ms)}`,
      ],
    );
    return ExitCode.Ok;
  },
};
