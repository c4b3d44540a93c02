// Prints one plain closing line ("tests: N passed, N failed") that any CI can read.
//
// It also stands guard over the end of the run: the integration tier runs in band on a small
// machine, so a socket, server, child or timer a suite leaves open keeps jest alive after the
// last test, and CI would wait for it until its own deadline. If the process is still up
// LEAK_GRACE_MS after the run, the reporter names what holds it (type, and for a socket its
// ends, for a child its command; timers only by count, as Node lists them) and ends the
// process with the run's own exit code.
const LEAK_GRACE_MS = 15_000;

function describeHandle(handle) {
  const type = handle?.constructor?.name ?? typeof handle;
  if (type === 'Socket' || type === 'TLSSocket') {
    const ends = handle.remotePort ? `${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}` : (handle._handle?.fd ?? '') + ' (pipe or stdio)';
    return `${type} ${ends}`;
  }
  if (type === 'Server') {
    const address = handle.address?.();
    return `Server ${address && typeof address === 'object' ? address.port : address}`;
  }
  if (type === 'ChildProcess') return `ChildProcess ${handle.pid} ${(handle.spawnargs ?? []).join(' ').slice(0, 200)}`;
  return type;
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const tail = skipped ? `, ${skipped} skipped` : '';
    process.stdout.write(`\ntests: ${results.numPassedTests} passed, ${results.numFailedTests} failed${tail}\n`);
    const guard = setTimeout(() => {
      const handles = process._getActiveHandles().filter((handle) => handle !== process.stdout && handle !== process.stderr && handle !== process.stdin);
      process.stderr.write(`\nthe test process is still up ${LEAK_GRACE_MS / 1000} s after the run; what holds it open (a leak in a suite):\n`);
      for (const line of handles.map(describeHandle)) process.stderr.write(`  ${line}\n`);
      process.stderr.write(`  resources: ${process.getActiveResourcesInfo().join(', ')}\n`);
      process.exit(results.success ? (process.exitCode ?? 0) : 1);
    }, LEAK_GRACE_MS);
    guard.unref();
  }
}
module.exports = SummaryReporter;
