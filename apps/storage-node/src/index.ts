export { loadConfig, ConfigError, type NodeConfig } from './config.js';
export { startNode, type RunningNode } from './node.js';
