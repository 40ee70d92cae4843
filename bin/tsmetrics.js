#!/usr/bin/env node
// Entry point for `npx tsmetrics` and the npm scripts: the compiled program lives in dist/.
import '../dist/src/main.js';
