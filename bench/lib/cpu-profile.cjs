// Preloaded (`node --require`) into a spawned app when BENCH_CPU_PROF is set: samples the CPU
// from start and writes a .cpuprofile on SIGUSR2. (`--cpu-prof` writes only on a normal exit,
// and Nest re-raises SIGTERM after its shutdown hooks, so the process dies by signal.)
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_CPU_PROF_DIR;
const label = process.env.BENCH_CPU_PROF_LABEL || 'app';
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () => {
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL_US || 1000) }, () => {
    session.post('Profiler.start');
  });
});
process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (error, result) => {
    if (!error) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${label}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    }
    process.stdout.write(`BENCH_CPU_PROFILE_WRITTEN ${error ? error.message : 'ok'}\n`);
  });
});
