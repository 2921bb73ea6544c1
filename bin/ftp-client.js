#!/usr/bin/env node
'use strict';
// Runs the compiled client when `npm run build` has produced dist/, else the
// TypeScript sources through ts-node, so `npx ftp-client` works either way.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'client-cli.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  cli = require(path.join(root, 'src', 'cli', 'client-cli.ts'));
}

// Set the exit code and let Node exit on its own, so buffered output
// (a listing piped to a file) is never cut short by process.exit().
cli.main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`ftp-client: unexpected error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
