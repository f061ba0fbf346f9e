import { AGENT_SETTINGS } from '../agent/config.js';
import { settingsReference, type ProcessSettings } from '../common/settings/reference.js';
import { COORDINATOR_SETTINGS } from '../coordinator/config.js';
import { NODE_CACHE_SETTINGS } from '../node-cache/config.js';

/** Every process with settings, by the name its container has in the chart. */
export const PROCESSES: readonly ProcessSettings[] = [
  { name: 'coordinator', source: 'coordinator/config.ts', settings: COORDINATOR_SETTINGS },
  { name: 'agent', source: 'agent/config.ts', settings: AGENT_SETTINGS },
  { name: 'node-cache', source: 'node-cache/config.ts', settings: NODE_CACHE_SETTINGS },
];

/** The path of the settings reference, from the repository's root. */
export const SETTINGS_PAGE = 'docs/settings.md';

/** docs/settings.md as the declarations make it. */
export function settingsPage(): string {
  return settingsReference(PROCESSES);
}
