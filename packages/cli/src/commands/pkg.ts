/** The `pkg` commands, in the order help lists them. */
import type { Command } from './command.ts';
import { pkgAddCommand } from './pkg-add.ts';
import { pkgBuildCommand } from './pkg-build.ts';
import { pkgListCommand } from './pkg-list.ts';
import { pkgRmCommand } from './pkg-rm.ts';

export const PKG_COMMANDS: readonly Command[] = [
  pkgAddCommand,
  pkgListCommand,
  pkgRmCommand,
  pkgBuildCommand,
];
