/** `kloset pkg list`: the built-in connectors and the installed packages (manifests only, no code). */
import { packagesDir } from '../config/paths.ts';
import { ExitCode } from '../exit-codes.ts';
import type { JsonObject } from '../output/json.ts';
import { readInstalled } from '../pkg/layout.ts';
import { protocolsOf, rolesOf } from '../pkg/package-manifest.ts';
import type { Command } from './command.ts';

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export const pkgListCommand: Command = {
  words: ['pkg', 'list'],
  summary: 'list the connector packages (built in and installed)',
  description:
    'Lists the built-in connectors and the installed packages with their version, roles and\n' +
    'protocols. A package that cannot be read is reported on stderr.',
  usesStore: false,
  flags: [],
  args: [],
  json: 'one line per package {"name", "version", "builtin", "platform", "roles", "protocols", "dir"}',
  async run(ctx) {
    const builtins = (await ctx.services.connectors()).builtins();
    const { packages, failures } = await readInstalled(packagesDir(ctx.io.env));
    const items: JsonObject[] = [
      ...builtins.map((m) => ({
        name: m.name,
        version: m.version,
        builtin: true,
        platform: null,
        roles: rolesOf(m),
        protocols: protocolsOf(m),
        dir: null,
      })),
      ...packages
        .filter((p) => !builtins.some((b) => b.name === p.name))
        .map((p) => ({
          name: p.name,
          version: p.manifest.version,
          builtin: false,
          platform: p.manifest.platform,
          roles: rolesOf(p.manifest),
          protocols: protocolsOf(p.manifest),
          dir: p.dir,
        })),
    ];
    if (ctx.out.json) {
      for (const item of items) await ctx.out.record(item);
    } else {
      const rows = items.map((i) => [
        String(i.name),
        String(i.version),
        i.builtin ? 'built in' : String(i.platform),
        (i.roles as string[]).join(','),
        (i.protocols as string[]).join(','),
      ]);
      await ctx.out.text(...table([['NAME', 'VERSION', 'PLATFORM', 'ROLES', 'PROTOCOLS'], ...rows]));
    }
    for (const f of failures) await ctx.out.warn(`package ${f.name} (${f.dir}) cannot be read: ${f.error}`);
    return ExitCode.Ok;
  },
};
