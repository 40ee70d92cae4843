#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point for `npx tsmetrics` and the npm scripts: the compiled program lives in dist/. The shebang's
// node flags are src/heap.ts NODE_FLAGS (V8 takes them only at start; a test keeps every launcher in step).
import '../dist/src/main.js';
