/** docs/cli.md is in step with the command table (regenerate with src/help/write-reference.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandName } from '../src/commands/command.ts';
import { COMMANDS } from '../src/commands/table.ts';
import { EXIT_CODE_DOCS } from '../src/exit-codes.ts';
import { optionForm } from '../src/help/connector-options.ts';
import { renderReference } from '../src/help/reference.ts';
import { referenceManifests } from '../src/help/reference-manifests.ts';

const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  it('is exactly what the command table and the connector manifests render', async () => {
    expect(doc).toBe(renderReference(COMMANDS, await referenceManifests()));
  });

  it('documents every option of the connector packages, and is stale when one changes', async () => {
    const manifests = await referenceManifests();
    expect(manifests.map((m) => m.name)).toEqual(['fs', 's3']);
    for (const m of manifests)
      for (const c of m.connectors)
        for (const o of c.options) expect(doc).toContain(`| \`${optionForm(o).replace(/\|/g, '\\|')}\` |`);
    for (const name of [
      'region',
      'session_token',
      'storage_class',
      'refresh_metadata',
      'virtual_host',
      'concurrency',
      'tls_insecure_no_verify',
      'timeout',
    ])
      expect(doc).toContain(`| \`${name}=`);
    expect(doc).toContain('To pick up tag-only changes, set `refresh_metadata=true`');
    const changed = manifests.map((m) => ({
      ...m,
      connectors: m.connectors.map((c) => ({
        ...c,
        options: c.options.map((o) => (o.name === 'region' ? { ...o, description: 'Elsewhere.' } : o)),
      })),
    }));
    expect(renderReference(COMMANDS, changed)).not.toBe(doc);
  });

  it('documents every command and exit code', () => {
    for (const c of COMMANDS) expect(doc).toContain(`### ${commandName(c)}\n`);
    for (const e of EXIT_CODE_DOCS) expect(doc).toContain(`| ${e.code} |`);
  });
});
