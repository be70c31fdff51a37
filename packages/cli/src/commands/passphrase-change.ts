/** `passphrase change`: wraps the store's key under a new passphrase (FORMAT.md §3.3). */
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { checkNewPassphraseSource, obtainNewPassphrase } from '../passphrase/new-passphrase.ts';
import type { Command } from './command.ts';
import { withStore } from './with-store.ts';

const NAME = 'passphrase change';

export const passphraseChangeCommand: Command = {
  words: ['passphrase', 'change'],
  summary: "change the store's passphrase (nothing but its config is rewritten)",
  description:
    "Changes the passphrase of an encrypted store. The store's master key stays the same: it is\n" +
    'wrapped under a key derived from the new passphrase, and only the config, which holds that\n' +
    'wrapping, is replaced (atomically: at every instant the store opens with the old passphrase or\n' +
    'the new one); no packfile, state or snapshot is rewritten. It takes the exclusive lock.\n' +
    'The current passphrase comes as for any command (passphrase= of a named store,\n' +
    'KLOSET_PASSPHRASE, -keyfile, a prompt); the new one from -new-keyfile FILE (its first line),\n' +
    'KLOSET_NEW_PASSPHRASE, or a prompt asked twice when stdin is a terminal (never both of the\n' +
    'first two). A new passphrase equal to the current one is refused. A named store whose\n' +
    'configuration holds passphrase= keeps the old one there: the command says so; update it with\n' +
    "'kloset store set NAME passphrase=...'. Copies of the old config made before (a bucket's old\n" +
    'versions, copies of the store) still open with the old passphrase: the key itself is unchanged.',
  usesStore: true,
  flags: [
    {
      name: 'new-keyfile',
      kind: 'string',
      value: 'FILE',
      description: 'read the new passphrase from FILE (its first line)',
    },
  ],
  args: [],
  json: '{"store", "changed": true, "kdf": {"memory_kib", "passes", "parallelism"}, "configured_passphrase_outdated"}',
  examples: [
    'kloset passphrase change',
    'kloset at @my-s3-store passphrase change -new-keyfile ~/.kloset-new-key',
    'KLOSET_NEW_PASSPHRASE=... kloset at /backups passphrase change',
  ],
  async run(ctx) {
    const newKeyfile = ctx.flags.string('new-keyfile');
    checkNewPassphraseSource(ctx.io, newKeyfile, NAME);
    return withStore(ctx, false, async (store, where) => {
      if (store.changePassphrase === undefined) throw new CliError(`${NAME}: this store has no passphrase`);
      if (!store.view.encrypted) {
        throw new CliError(`${NAME}: store ${where.display} is not encrypted: it has no passphrase`);
      }
      const newPassphrase = await obtainNewPassphrase(ctx.io, newKeyfile, where.display);
      const r = await store.changePassphrase(newPassphrase);
      const outdated = where.passphrase !== undefined;
      await ctx.out.result(
        {
          store: where.location,
          changed: true,
          kdf: { memory_kib: r.kdf.memoryKiB, passes: r.kdf.passes, parallelism: r.kdf.parallelism },
          configured_passphrase_outdated: outdated,
        },
        () => [
          `passphrase of store ${where.display} changed: the old passphrase no longer opens it`,
          ...(outdated
            ? [
                `the configuration of store ${where.display} still holds the old passphrase (passphrase=): ` +
                  `update it with 'kloset store set ${where.name ?? 'NAME'} passphrase=...'`,
              ]
            : []),
        ],
      );
      return ExitCode.Ok;
    });
  },
};
