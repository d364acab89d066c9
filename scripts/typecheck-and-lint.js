#!/usr/bin/env node
// Type-checks a TypeScript project and runs ESLint over it with one compilation: ESLint's typed rules are given the
// program the type check built (typescript-eslint's `parserOptions.programs`), instead of building their own.
// Reports exactly what `tsc --noEmit -p TSCONFIG` and `eslint --ext .ts,.tsx PATHS` report; fails on a type error
// or a lint error, as they do.
// Usage: node scripts/typecheck-and-lint.js TSCONFIG PATH [PATH ...]   (ESLINT_USE_FLAT_CONFIG=false: .eslintrc.json)
const ts = require('typescript');
const { LegacyESLint } = require('eslint/use-at-your-own-risk');

function typeCheck(tsconfig) {
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')); } };
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, host);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true }, projectReferences: parsed.projectReferences });
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
  if (diagnostics.length > 0) {
    const formatHost = { getCanonicalFileName: (name) => name, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => ts.sys.newLine };
    const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
    console.error(format(diagnostics, formatHost));
  }
  console.log(`tsc -p ${tsconfig}: ${diagnostics.length} errors`);
  return { program, errors: diagnostics.length };
}

async function lint(program, paths) {
  const eslint = new LegacyESLint({
    extensions: ['.ts', '.tsx'],
    errorOnUnmatchedPattern: false,
    overrideConfig: { parserOptions: { programs: [program], project: null } },
  });
  const results = await eslint.lintFiles(paths);
  const output = (await eslint.loadFormatter('stylish')).format(results);
  if (output) {
    console.log(output);
  }
  const count = (key) => results.reduce((total, result) => total + result[key], 0);
  console.log(`eslint ${paths.join(' ')}: ${results.length} files, ${count('errorCount')} errors, ${count('warningCount')} warnings`);
  return count('errorCount');
}

async function main([tsconfig, ...paths]) {
  if (!tsconfig || paths.length === 0) {
    throw new Error('usage: typecheck-and-lint.js TSCONFIG PATH [PATH ...]');
  }
  const { program, errors } = typeCheck(tsconfig);
  const lintErrors = await lint(program, paths);
  process.exitCode = errors + lintErrors > 0 ? 1 : 0;
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
