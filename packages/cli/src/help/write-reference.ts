/** Rewrites docs/cli.md from the command table. */
import { writeFileSync } from 'node:fs';
import { COMMANDS } from '../commands/table.ts';
import { renderReference } from './reference.ts';
import { referenceManifests } from './reference-manifests.ts';

const target = new URL('../../../../docs/cli.md', import.meta.url);
writeFileSync(target, renderReference(COMMANDS, await referenceManifests()));
process.stdout.write(`wrote ${target.pathname}\n`);
