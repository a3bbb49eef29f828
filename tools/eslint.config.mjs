import tseslint from 'typescript-eslint';
import root from '../eslint.config.mjs';

export default [
  ...root,
  // The fake node is plain JavaScript run by node as a child process: no tsconfig covers it, so lint
  // it without type information.
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
];
