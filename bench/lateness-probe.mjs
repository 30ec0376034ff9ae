// The event-loop lateness probe of bench/run.mjs (section loop) and
// bench/burst-lateness.mjs.
import { readFileSync } from 'node:fs';

/** The JS thread's own time on a CPU and time runnable but waiting for one (ms). */
export function schedstat() {
  const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
  return { run: run / 1e6, wait: wait / 1e6 };
}

/**
 * Worst lateness of a 1 ms setInterval while it runs; stop() returns it in
 * ms (`worst`), when the gap began (`at`, performance.now()), and the
 * thread's scheduler counters over that gap: `ran` (the JS thread was busy:
 * the loop was blocked by work) and `waited` (runnable but no CPU free: the
 * machine was busy).
 */
export function latenessProbe() {
  let last = performance.now();
  let lastSched = schedstat();
  let worst = { worst: 0, at: last, ran: 0, waited: 0 };
  const tick = () => {
    const t = performance.now();
    const sc = schedstat();
    const late = t - last - 1;
    if (late > worst.worst) worst = { worst: late, at: last, ran: sc.run - lastSched.run, waited: sc.wait - lastSched.wait };
    last = t;
    lastSched = sc;
  };
  const timer = setInterval(tick, 1);
  return () => {
    clearInterval(timer);
    tick();
    return worst;
  };
}
