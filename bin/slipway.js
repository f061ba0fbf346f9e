#!/usr/bin/env node
// The slipway CLI. Run `npm run build` first: this loads the compiled TypeScript from dist/.
import { runCli } from '../dist/cli/main.js';

// Whoever reads our output stopped (`slipway logs b | head`): stop quietly, as other tools do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
});
process.exitCode = code;
