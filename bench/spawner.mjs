// The process bench/run.mjs starts every command through (ip, the C
// reference, the memory check, the rtnl_lock-busy loop), so that the process
// that measures the library never forks while it runs.
//
// fork() write-protects every private page of the forking process until
// each is written again; the exec that follows does not undo it. On these
// VMs the faults that follow are dear: after one execFileSync('true'), the
// next six listLinks() of 503 links took 291 minor faults and 1.9-2.0 ms
// each against 1-2 faults and 1.1 ms without it (V8's young generation
// takes each page's fault once, as allocation reaches it). The C reference
// is a fresh process and pays none of it, so a bench that spawned C from
// the measuring process charged the library for the bench's own forks.
//
// `new Spawner()` starts it (bench/run.mjs, bench/dump-profile.mjs); run
// with fork() it serves. Messages (IPC, answered by id):
//   { id, op: 'run', file, args, parse? }  -> { id, stdout, seconds } or { id, error }
//       seconds: execFile's callback minus its call, in this process; with
//       `parse`, { id, count, seconds }: JSON.parse of stdout included,
//       count = the length of what it parsed
//   { id, op: 'runEach', file, argsList }  -> { id, seconds }: one after another
//   { id, op: 'start', file, args }        -> { id, pid }: detached, output ignored
import { execFile, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export class Spawner {
  #child = fork(fileURLToPath(import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  #sent = 0;
  #answers = new Map();

  constructor() {
    this.#child.on('message', (m) => {
      const { resolve, reject } = this.#answers.get(m.id);
      this.#answers.delete(m.id);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    this.#child.on('exit', (code) => {
      for (const { reject } of this.#answers.values()) reject(new Error(`bench/spawner.mjs exited (${code})`));
    });
  }

  /** One message (above); its answer. */
  do(message) {
    const id = ++this.#sent;
    return new Promise((resolve, reject) => {
      this.#answers.set(id, { resolve, reject });
      this.#child.send({ id, ...message });
    });
  }

  /** `ip args...`: { stdout, seconds }. */
  ip(args) {
    return this.do({ op: 'run', file: 'ip', args });
  }

  /** Ends it, and what it started. */
  close() {
    if (this.#child.connected) this.#child.disconnect();
  }
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) serve();

function serve() {
  const started = new Set();
  const stopAll = () => {
    for (const pid of started) {
      try {
        process.kill(-pid, 'SIGTERM'); // its own process group
      } catch {
        // already gone
      }
    }
  };
  process.on('disconnect', () => {
    stopAll();
    process.exit(0);
  });

  function run(file, args) {
    return new Promise((resolve, reject) => {
      execFile(file, args, { maxBuffer: 1 << 28 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}${stderr ? `\n${stderr}` : ''}`));
        else resolve(stdout);
      });
    });
  }

  async function handle(m) {
    if (m.op === 'run') {
      const t0 = performance.now();
      const stdout = await run(m.file, m.args);
      if (!m.parse) return { stdout, seconds: (performance.now() - t0) / 1000 };
      const count = JSON.parse(stdout).length;
      return { count, seconds: (performance.now() - t0) / 1000 };
    }
    if (m.op === 'runEach') {
      const t0 = performance.now();
      for (const args of m.argsList) await run(m.file, args);
      return { seconds: (performance.now() - t0) / 1000 };
    }
    if (m.op === 'start') {
      const child = spawn(m.file, m.args, { detached: true, stdio: 'ignore' });
      started.add(child.pid);
      child.on('exit', () => started.delete(child.pid));
      return { pid: child.pid };
    }
    throw new Error(`spawner: unknown op ${m.op}`);
  }

  process.on('message', (m) => {
    handle(m).then(
      (answer) => process.send({ id: m.id, ...answer }),
      (e) => process.send({ id: m.id, error: e.message }),
    );
  });
}
