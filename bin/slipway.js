#!/usr/bin/env node
// The slipway CLI. Run `npm run build` first: this loads the compiled TypeScript from dist/.
import { runCli } from '../dist/cli/main.js';

const code = await runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
});
process.exitCode = code;
