import { writeFileSync } from 'node:fs';
import { SETTINGS_PAGE, settingsPage } from './settings-reference.js';

// `npm run docs:settings`, from the repository's root: writes docs/settings.md from the declarations.
writeFileSync(SETTINGS_PAGE, settingsPage());
console.log(`wrote ${SETTINGS_PAGE}`);
