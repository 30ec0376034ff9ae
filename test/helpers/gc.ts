// Full garbage collections on demand, for tests that check what is collected.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Whether `ref`'s target is collected within a few full GCs. Each GC runs
 * in a later task than the last deref(): a WeakRef keeps its target alive
 * until the end of the task that made it or deref()ed it.
 */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

/** Waits a few tasks until `done()` holds: the addon's finalizers run in a later task than the GC. */
export async function afterFinalizers(done: () => boolean): Promise<void> {
  for (let i = 0; i < 5 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}
