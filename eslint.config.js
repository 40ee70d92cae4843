// ESLint with typescript-eslint's type-checked rules. typescript-eslint needs TypeScript's JS API, which the
// native TypeScript 7 compiler does not have: the `typescript` package (6.0) serves the linter only; the
// project compiles with TypeScript 7 (`typescript-native`, see scripts/test.mjs and npm run build).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.stryker-tmp/**',
      'reports/**',
      'test/fixtures/**',
      'scripts/**',
      'bin/**',
      'eslint.config.js',
      'stryker.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() returns a promise its runner awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // The hot-path scanners throw plain sentinels (no stack trace to capture) and catch them a few frames up.
      '@typescript-eslint/only-throw-error': [
        'error',
        {
          allow: [{ from: 'file', name: ['ParseFailure', 'INCOMPLETE'] }],
          allowRethrowing: true,
        },
      ],
      // A rejection passes on whatever the work threw, unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingUnknown: true, allowThrowingAny: true },
      ],
    },
  },
  {
    // The benchmark's processes talk over IPC, and the browser tests over the DevTools protocol, in untyped
    // JSON messages; they are read field by field.
    files: ['bench/**', 'test/helpers/chromium.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
