/** Parses fs locations: a plain path (`/srv/data`, `./x`, `~/x`) or an `fs:///path` URL. */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectorError } from '@kloset/connector-contract';

/**
 * The absolute directory a location names. `fs://` URLs must have an empty host (or `localhost`)
 * and are percent-decoded; `~` and `~/...` expand to the home directory; relative paths resolve
 * against the current directory. Other schemes fail with `invalid`.
 */
export function fsPathOf(location: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    if (!/^fs:\/\//i.test(location)) {
      throw new ConnectorError('invalid', `not an fs location: ${location}`, { key: location });
    }
    let url: URL;
    try {
      url = new URL(`file://${location.slice('fs://'.length)}`);
    } catch (err) {
      throw new ConnectorError(
        'invalid',
        `malformed fs location: ${location}`,
        { key: location },
        { cause: err },
      );
    }
    if (url.hostname !== '' && url.hostname !== 'localhost') {
      throw new ConnectorError('invalid', `fs location with a host (${url.hostname}): use fs:///path`, {
        key: location,
      });
    }
    url.hostname = '';
    return resolve(fileURLToPath(url));
  }
  if (location === '') throw new ConnectorError('invalid', 'empty fs location', { key: location });
  if (location === '~') return homedir();
  if (location.startsWith('~/')) return resolve(homedir(), location.slice(2));
  return resolve(location);
}
