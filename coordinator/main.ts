import { setFlagsFromString } from 'node:v8';
import { runServiceMain } from '../common/service-main.js';
import { Coordinator } from './coordinator.js';
import { coordinatorConfigFromEnv, resolveCoordinatorConfig } from './config.js';

runServiceMain('coordinator', () => {
  const config = resolveCoordinatorConfig(coordinatorConfigFromEnv(process.env));
  // The process's own: V8 reads it at every full collection (docs/settings.md).
  if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  return Coordinator.start(config);
});
