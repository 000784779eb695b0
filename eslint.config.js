import tseslint from 'typescript-eslint';

const pure = [
  'src/base/**/*.ts',
  'src/jute/**/*.ts',
  'src/tree/**/*.ts',
  'src/txn/**/*.ts',
  'src/raft/**/*.ts',
  // The ensemble member's logic runs under the deterministic simulator too.
  'src/ensemble/peer.ts',
  'src/ensemble/wire.ts',
  'src/ensemble/membership.ts',
  'src/testing/linearizability.ts',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test/fixtures/**', '.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The deterministic core: no clock, disk, network, randomness or process.
    files: pure,
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'net', 'os', 'crypto', 'child_process', '../server/*', '../storage/*', '../cli/*'] }],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'performance'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'the core reads no clock' },
        { object: 'Math', property: 'random', message: 'the core uses no randomness' },
      ],
    },
  },
);
