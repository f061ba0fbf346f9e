import { runServiceMain } from '../common/service-main.js';
import { Coordinator } from './coordinator.js';
import { coordinatorConfigFromEnv, resolveCoordinatorConfig } from './config.js';

runServiceMain('coordinator', () => Coordinator.start(resolveCoordinatorConfig(coordinatorConfigFromEnv(process.env))));
