// Flat config: typescript-eslint's type-checked rules. The type-aware rules (no-floating-promises,
// no-misused-promises) catch the main bug class of a job engine: a promise nobody awaits.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      // SQL lives only under src/store/: nothing else may import kysely or the drivers.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', message: 'SQL lives only under src/store/.' },
            { name: 'pg', message: 'SQL lives only under src/store/.' },
            { name: 'better-sqlite3', message: 'SQL lives only under src/store/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.mjs', 'bench/**/*.mjs'],
    rules: { 'no-restricted-imports': 'off' },
  },
  // Dialect differences live in src/store/dialect/ (one file per dialect behind one port), never as
  // tests of which database is underneath, and the raw driver handles stay in there too.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/store/dialect/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'BinaryExpression[operator=/^[!=]==?$/] > Literal[value=/^(sqlite|postgres|postgresql|pg)$/i]',
          message:
            'A dialect test: make the difference a method or value of the Dialect port (src/store/dialect/).',
        },
        {
          selector:
            'MemberExpression[property.name=/^(dialect|caps|identityIndex|arrayParams|analyzeWhileLoading|binaryCollation)$/]',
          message:
            'A dialect flag: make the difference a method or value of the Dialect port (src/store/dialect/).',
        },
        {
          selector: 'MemberExpression[property.name=/^(pgPool|transactionClient|sqlite)$/]',
          message: 'Raw driver handles stay inside src/store/dialect/.',
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    ignores: ['src/store/dialect/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'pg', message: 'The pg driver stays inside src/store/dialect/.' },
            { name: 'pg-copy-streams', message: 'COPY stays inside src/store/dialect/.' },
            { name: 'better-sqlite3', message: 'The SQLite driver stays inside src/store/dialect/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bench/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
);
