// npm run mutate (scripts/mutate.mjs): mutation score of src/ outside the simulator. The tap runner runs the compiled node:test files
// one by one, and for each mutant only those that cover it. The tests find ../shared through
// TSMETRICS_SHARED_DIR (set by scripts/mutate.mjs), which the sandbox copy has no sibling for. The build runs in
// .stryker-tmp/sandbox-*/ before Stryker links node_modules there, hence the compiler's path two levels up
// (types resolve from the checkout's node_modules by the usual walk up).

export default {
  mutate: ['src/**/*.ts', '!src/sim/**'],
  testRunner: 'tap',
  tap: {
    // Unit and integration tests only: the end-to-end tests (a real Prometheus, the exporter as a child
    // process, a browser) take 10-60 s each and would run for nearly every mutant of the rendering and
    // serving code, making a part of the tree a matter of hours. The score is then that of the unit and
    // integration tests: a lower bound of the whole suite's.
    testFiles: ['dist/test/unit/**/*.test.js', 'dist/test/integration/**/*.test.js'],
    nodeArgs: ['--test-reporter=tap'],
  },
  buildCommand: 'node ../../node_modules/typescript-native/bin/tsc -p tsconfig.json',
  coverageAnalysis: 'perTest',
  // A static mutant (in code that runs when a module loads: constant tables, module-level state) is covered
  // by no test in particular, so Stryker would run the whole suite for it, about 4 minutes each. Those are
  // reported as Ignored and left out of the score (the summary counts them; README: Mutation testing). A
  // mutant that is both static and covered by tests at run time still runs those tests.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 30000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: {
    fileName: process.env.TSMETRICS_MUTATION_REPORT ?? 'reports/mutation.json',
  },
  thresholds: {
    high: 90,
    low: 85,
    break: null,
  },
  ignorePatterns: ['dist', '.stryker-tmp', 'reports'],
};
