/**
 * The options connectors declare in their manifests, for `source|store|destination add -h` (the
 * protocols this CLI knows: built in and installed) and for docs/cli.md (every package of the
 * checkout). One renderer for both, so that help, docs and the checks of `add` never disagree.
 */
import type { ConnectorRole, OptionSpec } from '@kloset/connector-contract';

/** What a manifest says of its connectors (a ConnectorManifest, or manifest.json of a package). */
export interface ManifestOptions {
  readonly name: string;
  readonly description: string;
  readonly connectors: readonly {
    readonly role: ConnectorRole;
    readonly protocols: readonly string[];
    readonly options: readonly OptionSpec[];
  }[];
}

/** The CLI's word for a role: a storage is a store. */
export const ROLE_WORD: Readonly<Record<ConnectorRole, string>> = {
  source: 'source',
  storage: 'store',
  destination: 'destination',
};

/** One option as shown: the same spec in several roles is one row naming them all. */
export interface OptionRow {
  readonly key: string;
  readonly roles: readonly string[];
  readonly default: string | undefined;
  readonly description: string;
}

/** `use_tls=true|false`, `concurrency=1..256`, `region=TEXT`. */
export function optionForm(o: OptionSpec): string {
  switch (o.type) {
    case 'boolean':
      return `${o.name}=true|false`;
    case 'integer':
      return `${o.name}=${o.min ?? ''}..${o.max ?? ''}`.replace(/=\.\.$/, '=N');
    case 'enum':
      return `${o.name}=${(o.values ?? []).join('|')}`;
    case 'string':
      return `${o.name}=TEXT`;
  }
}

/** The options of `manifest` (of `role` only, when given), specs that differ kept apart. */
export function optionRows(manifest: ManifestOptions, role?: ConnectorRole): OptionRow[] {
  const rows: { key: string; roles: string[]; default: string | undefined; description: string }[] = [];
  for (const c of manifest.connectors) {
    if (role !== undefined && c.role !== role) continue;
    for (const o of c.options) {
      const key = optionForm(o);
      const description = o.secret ? `${o.description} (secret: masked by show)` : o.description;
      const same = rows.find(
        (r) => r.key === key && r.default === o.default && r.description === description,
      );
      if (same) same.roles.push(ROLE_WORD[c.role]);
      else rows.push({ key, roles: [ROLE_WORD[c.role]], default: o.default, description });
    }
  }
  return rows;
}

/** `s3://` for a package's protocols (`fs`: a local path). */
export function protocolsLabel(manifest: ManifestOptions, role?: ConnectorRole): string {
  const protocols = new Set(
    manifest.connectors.filter((c) => role === undefined || c.role === role).flatMap((c) => c.protocols),
  );
  return [...protocols].map((p) => (p === 'fs' ? 'a local path or fs://' : `${p}://`)).join(', ');
}

/** Words of `text` in lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The lines `add -h` shows for the options of `role`, per known package. */
export function optionsHelp(manifests: readonly ManifestOptions[], role: ConnectorRole): string[] {
  const lines = ['Options (KEY=VALUE), by location:'];
  for (const m of manifests) {
    if (!m.connectors.some((c) => c.role === role)) continue;
    const rows = optionRows(m, role);
    lines.push(`  ${protocolsLabel(m, role)} (package ${m.name}):${rows.length ? '' : ' none'}`);
    for (const r of rows) {
      const sentence = /[.)]$/.test(r.description) ? r.description : `${r.description}.`;
      const text = r.default !== undefined ? `${sentence} [default: ${r.default}]` : sentence;
      lines.push(`    ${r.key}`, ...wrap(text, 88).map((l) => `        ${l}`));
    }
  }
  lines.push('  Other protocols come as packages ("kloset pkg add NAME"); their options show here then.');
  return lines;
}
