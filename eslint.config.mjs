// ESLint flat config: typescript-eslint's type-aware recommended rules, and
// type-only imports kept as `import type` so that type edges never become
// runtime edges (and so never runtime cycles).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // The same program the type check of tests builds (src, __tests__, bench),
      // so the lint and `tsc -p tsconfig.test.json` never disagree on a type.
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      // Arguments a hook or an interface method must accept but does not use are named `_x`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Implementations of promise-returning interfaces (command handlers, shared
      // limits) are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests and benchmarks read JSON from the wire and from child processes:
    // values typed \`any\` on purpose, checked by the assertions that follow.
    files: ['__tests__/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // expect(obj.method).toHaveBeenCalled() and friends.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
