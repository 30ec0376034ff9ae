// What one test makes: namespaces and handles, closed and removed together
// in afterEach (handles first, then namespaces, even when a close fails).
import { open, type Handle } from '../../src/index.js';
import { makeNetns, type TestNetns } from './netns.js';

export class TestScope {
  readonly #namespaces: TestNetns[] = [];
  readonly #handles: Handle[] = [];

  /** `tag` names the namespaces mvt-<tag>-<random> (see removeLeftoverNetns). */
  constructor(readonly tag: string) {}

  /** A fresh namespace (veth v0 <-> v1 up unless `veth: false`). */
  netns(options: { veth?: boolean } = {}): TestNetns {
    const ns = makeNetns(this.tag, options);
    this.#namespaces.push(ns);
    return ns;
  }

  /** A handle on `ns`. */
  async handleIn(ns: TestNetns): Promise<Handle> {
    const nl = await open({ netns: ns.name });
    this.#handles.push(nl);
    return nl;
  }

  /** Closes the handles, runs `afterClose`, then removes the namespaces. */
  async release(afterClose?: () => Promise<unknown>): Promise<void> {
    const hs = this.#handles.splice(0);
    const nss = this.#namespaces.splice(0);
    try {
      await Promise.all(hs.map((h) => h.close()));
      await afterClose?.();
    } finally {
      for (const ns of nss) ns.remove();
    }
  }
}
