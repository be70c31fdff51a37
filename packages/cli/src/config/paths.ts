/**
 * Where kloset keeps things on this machine, from the environment:
 *
 * - the default store (when no `at` is given): `$KLOSET_REPOSITORY` if set (a path or `@NAME`),
 *   else `~/.kloset`. (Plakar's PLAKAR_REPOSITORY, renamed. There is no KLOSET_HOME: the store, the
 *   configuration and the packages follow the XDG variables below, each on its own.)
 * - named sources, stores and destinations: `$XDG_CONFIG_HOME/kloset/config.json`
 *   (`~/.config/kloset/config.json`), mode 0600.
 * - installed connector packages: `$XDG_DATA_HOME/kloset/packages/` (`~/.local/share/kloset/packages`).
 * - caches (the core's index cache): `$XDG_CACHE_HOME/kloset/` (`~/.cache/kloset`).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export function homeDir(env: Env): string {
  return env.HOME || homedir();
}

function xdg(env: Env, variable: string, fallback: string): string {
  const v = env[variable];
  return v && isAbsolute(v) ? v : join(homeDir(env), fallback);
}

export function configDir(env: Env): string {
  return join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'kloset');
}

export function configFile(env: Env): string {
  return join(configDir(env), 'config.json');
}

export function packagesDir(env: Env): string {
  return join(xdg(env, 'XDG_DATA_HOME', '.local/share'), 'kloset', 'packages');
}

export function cacheDir(env: Env): string {
  return join(xdg(env, 'XDG_CACHE_HOME', '.cache'), 'kloset');
}

/** The store used when no `at` is given. */
export function defaultStore(env: Env): string {
  return env.KLOSET_REPOSITORY || join(homeDir(env), '.kloset');
}

/** `~` and `~/x` expanded; relative paths made absolute against `cwd`. */
export function absolutePath(path: string, cwd: string, env: Env): string {
  if (path === '~') return homeDir(env);
  if (path.startsWith('~/')) return join(homeDir(env), path.slice(2));
  return resolve(cwd, path);
}
