/** Test configuration shared by every project: sources resolve through the @ringstore/source condition. */
export declare function projectTestConfig(options?: {
    testTimeoutMs?: number;
    includeIntegration?: boolean;
}): import("vite").UserConfig;
//# sourceMappingURL=vitest.shared.d.ts.map