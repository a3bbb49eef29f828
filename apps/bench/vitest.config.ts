import { projectTestConfig } from '../../vitest.shared.js';

// The smoke run starts a real 3-node cluster.
export default projectTestConfig({ testTimeoutMs: 90_000 });
