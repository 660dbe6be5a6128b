/** `gough apply --config FILE [--converge] [--timeout S]`: one pass (wait for its actions), then exit. */
import { formatDiagnostic } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { createLogger } from '../logger.js';
import { CONFIG_HELP, composeDaemon, parseConfigArgs } from './daemon.js';

const HELP = `Usage: gough apply --config FILE [--converge] [--timeout SECONDS] [options]

Run one reconcile pass and exit: load the branch's tip from Git objects, observe, plan, apply what
the plan allows, wait for those actions to finish, write status. With --converge, keep passing until
the plan has nothing left to do (or --timeout).

Exit status:
  0  the pass (or every pass) succeeded and no action failed
  1  a pass failed, an action failed, the revision is invalid (diagnostics on stderr) or the
     fleet did not converge before --timeout
  2  usage error

Options:
  --converge                 Repeat passes until converged
  --timeout SECONDS          With --converge, give up after this long (default 1800)
${CONFIG_HELP}

Examples:
  gough apply --config /etc/gough/daemon.yaml
  gough apply --repo-path ./fleet --state-dir ./state --site dc1 --converge --timeout 600`;

async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseConfigArgs>;
  try {
    parsed = parseConfigArgs(argv, io, { converge: { type: 'boolean' }, timeout: { type: 'string' } });
  } catch (e) {
    io.stderr.write(`gough apply: ${(e as Error).message}\nRun "gough apply --help" for usage.\n`);
    return EXIT.usage;
  }
  const { cfg, values } = parsed;
  const timeoutMs = Number(values.timeout ?? 1800) * 1000;
  if (!Number.isFinite(timeoutMs)) {
    io.stderr.write('gough apply: --timeout needs a number\n');
    return EXIT.usage;
  }
  const logger = createLogger({ level: cfg.log.level === 'info' ? 'warn' : cfg.log.level, base: { component: 'gough' } });
  let daemon: Awaited<ReturnType<typeof composeDaemon>>;
  try {
    daemon = await composeDaemon(cfg, io, logger);
  } catch (e) {
    io.stderr.write(`gough apply: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
  let failedActions = 0;
  const unsub = daemon.subscribe((e) => {
    if (e.type === 'action-finished' && e.outcome !== 'retrying')
      io.stdout.write(`${e.outcome === 'succeeded' ? 'ok  ' : 'FAIL'} ${e.kind} ${e.host}: ${e.message}\n`);
    if (e.type === 'action-finished' && e.outcome === 'failed') failedActions++;
  });
  const deadline = Date.now() + timeoutMs;
  let code: number = EXIT.ok;
  try {
    for (let n = 1; ; n++) {
      const r = await daemon.runPass(n === 1 ? 'apply' : 'apply-converge');
      if (r.invalid) {
        io.stderr.write(`gough apply: revision "${r.revision}" failed validation and is not applied:\n`);
        for (const d of daemon.invalidDiagnostics ?? []) io.stderr.write(`  ${formatDiagnostic(d)}\n`);
        code = EXIT.failed;
      }
      if (!r.ok) {
        io.stderr.write(`gough apply: pass failed: ${r.error ?? 'unknown error'}\n`);
        code = EXIT.failed;
        break;
      }
      const started = r.dispatched?.started.length ?? 0;
      io.stdout.write(
        `pass ${n}: revision ${r.appliedRevision?.slice(0, 12)}: ${r.plan?.actions ?? 0} actions planned, ${started} started, ${
          r.plan?.waits ?? 0
        } waiting, ${r.plan?.blocked ?? 0} blocked\n`,
      );
      await daemon.drain();
      if (!values.converge || r.plan?.converged || code !== EXIT.ok) break;
      if (Date.now() > deadline) {
        io.stderr.write('gough apply: not converged before --timeout\n');
        code = EXIT.failed;
        break;
      }
      if (started === 0) await new Promise((res) => setTimeout(res, Math.min(2000, (cfg.providers.pollIntervalMs ?? 1000) * 2)));
    }
  } finally {
    unsub();
    await daemon.stop(0);
  }
  if (failedActions > 0) code = EXIT.failed;
  return code;
}

export const applyCommand: Command = { name: 'apply', summary: 'Run one reconcile pass, then exit', help: HELP, run };
