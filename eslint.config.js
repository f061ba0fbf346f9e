// ESLint (flat config): rules that catch real mistakes, not style: Prettier formats the code
// (`npm run format`) and eslint-config-prettier turns off every rule it would fight with.
// `npm run lint` runs this and `prettier --check`; scripts/test (so CI) runs `npm run lint`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'proto/generated/', '.work/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Type-aware, and cheap: a promise nobody awaits or catches loses its error (an unhandled
      // rejection ends the process); a promise where a void callback is expected is never awaited.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `_name` says "unused on purpose" (a callback's parameter kept for its position).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Style: a table's columns read better as `NAME  PHASE` than as `NAME {2}PHASE`.
      'no-regex-spaces': 'off',
      // A callback given to the constructor of the object it refers to needs `let x; x = new …(() => x)`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests read the JSON a server answered field by field: a wrong field fails the test anyway.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  { files: ['**/*.js'], languageOptions: { globals: globals.node } },
  prettier,
);
