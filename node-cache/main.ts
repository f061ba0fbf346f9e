import { runServiceMain } from '../common/service-main.js';
import { nodeCacheConfigFromEnv, resolveNodeCacheConfig } from './config.js';
import { NodeCache } from './node-cache.js';

runServiceMain('node-cache', () => NodeCache.start(resolveNodeCacheConfig(nodeCacheConfigFromEnv(process.env))));
