// One way to build a driver from its spec, used by the bench process and by every load worker
// process (--client-procs), so both drive a target the same way.
import type { Driver } from '../harness.js';
import { echoDriverFromSpec } from './echo.js';
import { etcdDriverFromSpec } from './etcd.js';
import { ringstoreDriverFromSpec } from './ringstore.js';
import type { DriverSpec } from './target.js';

/**
 * The driver `spec` describes. `contexts`: ringstore's cache of causal contexts (a backend's
 * drivers share one; a load worker starts with an empty one of its own).
 */
export function driverFromSpec(
  spec: DriverSpec,
  contexts: Map<string, Buffer> = new Map(),
): Promise<Driver> {
  switch (spec.kind) {
    case 'ringstore':
      return ringstoreDriverFromSpec(spec, contexts);
    case 'echo':
      return Promise.resolve(echoDriverFromSpec(spec));
    case 'etcd':
      return Promise.resolve(etcdDriverFromSpec(spec));
  }
}
