// The .d.ts files compile against a TypeScript plugin (test/types-check.ts), with the
// toolchain's tsc (scripts/toolchain-js.sh); skipped when the toolchain is not installed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { toolchainDir } from '../scripts/component-host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(toolchainDir(), 'node_modules', '.bin', 'tsc');

test('the type declarations describe a TypeScript plugin', { skip: !existsSync(tsc) && 'no toolchain (scripts/toolchain-js.sh)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'spangate-js-types-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@spangate'), { recursive: true });
    symlinkSync(join(here, '..'), join(dir, 'node_modules', '@spangate', 'plugin-sdk'));
    symlinkSync(join(here, 'types-check.ts'), join(dir, 'plugin.ts'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true,
        noEmit: true, skipLibCheck: false, types: [],
      },
      files: ['plugin.ts'],
    }));
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    try {
      execFileSync(tsc, ['-p', dir], { encoding: 'utf8' });
    } catch (error) {
      assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
