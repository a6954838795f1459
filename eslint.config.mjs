// Type-checked lint for the TypeScript in src, test and the console; plain recommended rules for the .mjs
// scripts. Floating and misused promises are errors: a promise nobody awaits can end the process
// with an unhandled rejection (immich enforces the same rule).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', '.reports/', 'bench/.work/', '**/*.d.mts', 'console/src/api/schema.d.ts'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'console/src/**/*.ts', 'console/src/**/*.tsx'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Response bodies from supertest and raw ClickHouse rows are `any` by nature; tests assert their shape.
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'src/**/*.db-spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
);
