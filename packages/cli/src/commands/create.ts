import { ExitCode } from '../exit-codes.ts';
import type { Command } from './command.ts';
import { storeJson } from './views.ts';

export const createCommand: Command = {
  words: ['create'],
  summary: 'create a new store',
  description:
    'Creates an empty store at LOCATION. The store is encrypted with a key protected by the\n' +
    'passphrase (asked twice on a terminal), unless -plaintext. It refuses to overwrite a store.',
  usesStore: true,
  flags: [{ name: 'plaintext', kind: 'boolean', description: 'no encryption (and no passphrase)' }],
  args: [],
  json: '{"location", "store_id", "encrypted", "created", "version", "compression", "packfile_size", "chunking"}',
  examples: [
    'kloset at /var/backups create',
    'kloset at @my-s3-store create',
    'kloset at /tmp/test create -plaintext',
  ],
  async run(ctx) {
    const plaintext = ctx.flags.bool('plaintext');
    const { where, view } = await ctx.services.createStore(
      { at: ctx.at, keyfile: ctx.flags.string('keyfile') },
      plaintext,
    );
    await ctx.out.result(storeJson(where.location, view), () => [
      `created ${view.encrypted ? 'encrypted' : 'plaintext'} store at ${where.display}`,
    ]);
    return ExitCode.Ok;
  },
};
