import { projectTestConfig } from '../../vitest.shared.js';

// Integration tests start real node processes: each test sets its own, longer timeout.
export default projectTestConfig({ testTimeoutMs: 30_000 });
