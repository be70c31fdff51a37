/** docs/cli.md is in step with the command table (regenerate with src/help/write-reference.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandName } from '../src/commands/command.ts';
import { COMMANDS } from '../src/commands/table.ts';
import { EXIT_CODE_DOCS } from '../src/exit-codes.ts';
import { renderReference } from '../src/help/reference.ts';

const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  it('is exactly what the command table renders', () => {
    expect(doc).toBe(renderReference(COMMANDS));
  });

  it('documents every command and exit code', () => {
    for (const c of COMMANDS) expect(doc).toContain(`### ${commandName(c)}\n`);
    for (const e of EXIT_CODE_DOCS) expect(doc).toContain(`| ${e.code} |`);
  });
});
