#!/usr/bin/env node
// Thin launcher: the command lives in the compiled TypeScript.
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      process.stderr.write('synod: not built yet; run `npm install` (or `npm run build`) first\n');
    } else {
      process.stderr.write(`synod: ${err && err.stack ? err.stack : err}\n`);
    }
    process.exit(1);
  });
