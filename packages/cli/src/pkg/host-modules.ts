/**
 * Packages are bundles with every dependency inside but the connector contract, which the CLI
 * provides: one copy of `@kloset/connector-contract` in the process, so that a package's
 * ConnectorErrors are the CLI's ConnectorErrors (RetryStorage and the error mapping test them with
 * `instanceof`). A module resolve hook maps the package's `import '@kloset/connector-contract'` to
 * the CLI's own copy, for modules under the directories registered here only.
 */
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Modules the CLI provides to packages; a bundle leaves exactly these external. */
export const HOST_PROVIDED: readonly string[] = ['@kloset/connector-contract'];

const roots = new Set<string>();
let registered = false;

function hostUrl(specifier: string): string {
  // Resolved from here, the CLI's copy, with the CLI's conditions (sources or dist alike).
  return import.meta.resolve(specifier);
}

function register(): void {
  if (registered) return;
  registered = true;
  const urls = new Map(HOST_PROVIDED.map((s) => [s, hostUrl(s)]));
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = urls.get(specifier);
      const parent = context.parentURL;
      if (url !== undefined && parent !== undefined && [...roots].some((r) => parent.startsWith(r))) {
        return { url, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}

/** Imports `file` (an ESM file under `root`), host-provided modules resolving to the CLI's copies. */
export async function importWithHostModules(root: string, file: string): Promise<Record<string, unknown>> {
  register();
  const rootUrl = pathToFileURL(root).href;
  roots.add(rootUrl.endsWith('/') ? rootUrl : `${rootUrl}/`);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}
