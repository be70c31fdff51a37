/**
 * The kloset binary: runs the command line of this process and exits with its code.
 * From source: node --conditions=kloset-source packages/cli/src/main.ts ARGS
 */
import { runCli } from './cli.ts';
import { ExitCode } from './exit-codes.ts';
import { processIo } from './io/io.ts';

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals++;
  // A second signal does not wait for a clean stop.
  if (signals > 1) process.exit(ExitCode.Interrupted);
  controller.abort(new Error(`interrupted by ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A command whose promise never settles (a bug: a wait that nothing wakes) would let the event
// loop empty, and Node end with code 13 and a warning about an unsettled top-level await: say it
// in one line and exit with the error code instead.
let finished = false;
process.on('exit', (exitCode) => {
  if (finished || exitCode !== 13) return;
  process.stderr.write(
    'kloset: internal error: the command stopped before finishing (nothing was left to run); please report it\n',
  );
  process.exitCode = ExitCode.Error;
});

const code = await runCli(process.argv.slice(2), processIo(controller.signal));
finished = true;
// A reader gone before the end (`| head`) is an exit code, not an uncaught 'error' event.
process.stdout.on('error', () => {});
// Exit explicitly: a lingering handle (a socket, a timer) must not keep a finished command alive.
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
