// CMakeLists.txt (the sanitizer build, npm run test:asan) mirrors binding.gyp
// by hand: the same sources, in the same order, and the same defines.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const read = (name: string): string => readFileSync(fileURLToPath(new URL(`../${name}`, import.meta.url)), 'utf8');

interface GypTarget {
  target_name: string;
  sources: string[];
  defines: string[];
}

const gyp = (JSON.parse(read('binding.gyp')) as { targets: GypTarget[] }).targets;
const cmake = read('CMakeLists.txt').replace(/#.*$/gm, '');

/** The words of the first `command(FIRST ...)` in CMakeLists.txt. */
function cmakeList(command: string, first: string): string[] {
  const m = new RegExp(`${command}\\(\\s*${first.replace(/[${}]/g, '\\$&')}(?=\\s)([^)]*)\\)`).exec(cmake);
  if (!m) throw new Error(`no ${command}(${first} ...) in CMakeLists.txt`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

describe('CMakeLists.txt mirrors binding.gyp', () => {
  it('builds one addon target, named as in binding.gyp', () => {
    expect(gyp.map((t) => t.target_name)).toEqual(['macvlan']);
    expect(cmake).toMatch(/project\(\s*macvlan\b/);
  });

  it('compiles the same sources', () => {
    expect(cmakeList('set', 'MACVLAN_SOURCES')).toEqual(gyp[0]!.sources);
  });

  it('has the same defines (and node_addon_api_except: NAPI_CPP_EXCEPTIONS)', () => {
    const defines = cmakeList('target_compile_definitions', '${PROJECT_NAME}');
    for (const d of [...gyp[0]!.defines, 'NAPI_CPP_EXCEPTIONS']) expect(defines).toContain(d);
  });
});
