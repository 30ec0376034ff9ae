// The process's own fds, as /proc/self/fd tells them.
import { readlinkSync } from 'node:fs';

/** What /proc/self/fd/N points at, or undefined once N is closed. */
export function fdTarget(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}
