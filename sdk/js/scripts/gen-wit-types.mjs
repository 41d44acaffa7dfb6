// Regenerates types/wit/ from wit/plugin.wit: the guest-side TypeScript declarations of
// the three worlds as componentize-js represents them (records as objects, list<u8> as
// Uint8Array, u64 as bigint, flags as objects of booleans, variants as { tag, val },
// result errors as thrown values). Run after changing the WIT:
//   node sdk/js/scripts/gen-wit-types.mjs
// Uses jco's type generator from the toolchain (scripts/toolchain-js.sh); the WIT text is
// passed inline because jco 1.35's WASI sandbox cannot read paths.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { toolchainDir } from './component-host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const wit = readFileSync(join(here, '..', '..', '..', 'wit', 'plugin.wit'), 'utf8');
const out = join(here, '..', 'types', 'wit');

const bindgen = await import(
  pathToFileURL(join(toolchainDir(), 'node_modules', '@bytecodealliance', 'jco-transpile', 'vendor', 'js-component-bindgen-component.js')).href
);
await bindgen.$init;

rmSync(out, { recursive: true, force: true });
const written = new Set();
for (const world of ['processor-plugin', 'sampler-plugin', 'metrics-plugin']) {
  const files = bindgen.generateTypes(world, {
    wit: { tag: 'source', val: wit },
    world,
    guest: true,
    tlaCompat: false,
    features: { tag: 'list', val: [] },
  });
  for (const [name, data] of files) {
    const path = join(out, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    written.add(name);
  }
}
console.log([...written].sort().join('\n'));
