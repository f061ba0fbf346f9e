import { runServiceMain } from '../common/service-main.js';
import { Agent } from './agent.js';
import { agentConfigFromEnv, resolveAgentConfig } from './config.js';

runServiceMain('agent', () => Agent.start(resolveAgentConfig(agentConfigFromEnv(process.env))));
