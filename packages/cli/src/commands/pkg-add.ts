/** `kloset pkg add NAME|ARCHIVE`: installs a connector package from an archive or by name. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { absolutePath, packagesDir } from '../config/paths.ts';
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatDuration } from '../output/format.ts';
import { buildPackage } from '../pkg/build.ts';
import { type InstallResult, installArchive } from '../pkg/install.ts';
import { findPackage } from '../pkg/lookup.ts';
import { protocolsOf, rolesOf } from '../pkg/package-manifest.ts';
import type { Command, CommandContext } from './command.ts';
import { isPathArgument } from './pkg-build.ts';

interface Installed {
  readonly result: InstallResult;
  readonly from: { readonly kind: 'archive' | 'source'; readonly path: string };
}

async function builtinNames(ctx: CommandContext): Promise<string[]> {
  return (await ctx.services.connectors()).builtinNames();
}

async function addByName(ctx: CommandContext, name: string, reserved: readonly string[]): Promise<Installed> {
  const found = await findPackage(name, ctx.io.env);
  const dir = packagesDir(ctx.io.env);
  if (found.kind === 'archive') {
    return {
      result: await installArchive(found.path, dir, reserved),
      from: { kind: 'archive', path: found.path },
    };
  }
  const work = await mkdtemp(join(tmpdir(), 'kloset-pkg-add-'));
  try {
    const built = await buildPackage(found.source, work);
    const result = await installArchive(built.archive, dir, reserved);
    return { result, from: { kind: 'source', path: found.source.dir } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const pkgAddCommand: Command = {
  words: ['pkg', 'add'],
  summary: 'install a connector package',
  description:
    'Installs ./ARCHIVE (made by "kloset pkg build") or the package NAME, found offline: first the\n' +
    'newest NAME_vVERSION_PLATFORM.tgz in the directories of KLOSET_PKG_PATH, else the package\n' +
    'source NAME of the kloset checkout the CLI runs from (built, then installed). No registry is\n' +
    'asked. The archive is checked (manifest, platform, file sizes and SHA-256, entry point) before\n' +
    'it replaces an installed version in one atomic step. Named sources, stores and destinations\n' +
    'are not touched.',
  usesStore: false,
  flags: [],
  args: [
    { name: 'NAME|ARCHIVE', required: true, description: 'a package name (s3) or an archive path (./x.tgz)' },
  ],
  json: '{"name", "version", "platform", "roles", "protocols", "from": {"kind", "path"}, "replaced", "duration_ms"}',
  examples: ['kloset pkg add s3', 'kloset pkg add ./s3_v0.1.0_linux_x64.tgz'],
  async run(ctx) {
    const arg = ctx.args[0]!;
    const started = Date.now();
    const reserved = await builtinNames(ctx);
    if (reserved.includes(arg)) throw new CliError(`pkg add ${arg}: ${arg} is built in`);
    let installed: Installed;
    try {
      if (isPathArgument(arg) || arg.endsWith('.tgz')) {
        const path = absolutePath(arg, ctx.io.cwd, ctx.io.env);
        installed = {
          result: await installArchive(path, packagesDir(ctx.io.env), reserved),
          from: { kind: 'archive', path },
        };
      } else {
        installed = await addByName(ctx, arg, reserved);
      }
    } catch (err) {
      throw new CliError(`pkg add ${arg}: ${(err as Error).message}`, ExitCode.Error, { cause: err });
    }
    const { result, from } = installed;
    const m = result.manifest;
    const ms = Date.now() - started;
    const source = from.kind === 'archive' ? from.path : `the package source ${from.path}`;
    await ctx.out.result(
      {
        name: m.name,
        version: m.version,
        platform: m.platform,
        roles: rolesOf(m),
        protocols: protocolsOf(m),
        from,
        replaced: result.replaced ?? null,
        duration_ms: ms,
      },
      () => [
        `installed ${m.name} v${m.version} (${rolesOf(m).join(', ')} for ${protocolsOf(m)
          .map((p) => `${p}://`)
          .join(', ')}) from ${source} in ${formatDuration(ms)}` +
          (result.replaced ? `, replacing v${result.replaced}` : ''),
      ],
    );
    return ExitCode.Ok;
  },
};
