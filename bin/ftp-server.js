#!/usr/bin/env node
'use strict';
// Runs the compiled server from dist/ (built by `npm ci` / `npm run build`);
// falls back to the TypeScript sources through ts-node in a checkout without dist/.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'server-cli.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  cli = require(path.join(root, 'src', 'cli', 'server-cli.ts'));
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ftp-server: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
