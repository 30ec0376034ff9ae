// ESLint for the TypeScript sources and tests: the recommended JavaScript and
// typescript-eslint rules (not type-aware). Prettier owns the layout, so no
// stylistic rules here. Run by scripts/lint.sh.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'build*/', 'node_modules/', 'prebuilds/', '.cache/', 'bench/out/', 'docs/api/'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', '*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `const { tap: _tap, ...rest } = link` is how a field is left out of a
      // copy; a leading underscore marks a deliberately unused name.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
