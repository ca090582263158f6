// The layers of docs/architecture.md, checked over the real import graph: every import of
// every source file must point to its own layer or one the table allows, and packages
// that belong to one layer (the web framework, the engine, database drivers) are imported
// there only. A new file outside every layer fails too, so the table cannot fall behind.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SOURCES = ['config', 'src', 'interactions'];

type Layer = 'foundation' | 'config' | 'ports' | 'drivers' | 'services' | 'views' | 'http' | 'root' | 'client';

/** First match wins: more specific paths first. */
const LAYER_OF: readonly [RegExp, Layer][] = [
  [/^src\/(errors|clock|log|ip-network|json-copy|periodic-pass)\.ts$/, 'foundation'],
  [/^src\/text\//, 'foundation'],
  [/^config\//, 'config'],
  [/^src\/storage\/ports\.ts$/, 'ports'],
  [/^src\/mail\/mailer\.ts$/, 'ports'],
  [/^src\/storage\//, 'drivers'],
  [/^src\/mail\/(smtp-mailer|smtp-message|dev-mailbox)\.ts$/, 'drivers'],
  [/^src\/(apps|sign-in|mail|keys|accounts|delivery|logout|metrics)\//, 'services'],
  [/^src\/audit(-throttle)?\.ts$/, 'services'],
  [/^interactions\/views\//, 'views'],
  [/^src\/(http|admin|oidc|tenancy|dev)\//, 'http'],
  [/^interactions\//, 'http'],
  [/^src\/(server|compose|main)\.ts$/, 'root'],
  [/^src\/cli\//, 'client'],
];

/** Which layers each layer may import (its own is always allowed). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  foundation: [],
  config: ['foundation'],
  ports: ['foundation'],
  drivers: ['foundation', 'ports'],
  services: ['foundation', 'ports'],
  views: ['foundation'],
  http: ['foundation', 'ports', 'services', 'views'],
  root: ['foundation', 'config', 'ports', 'drivers', 'services', 'views', 'http'],
  // The CLI speaks to a server over HTTP only, so it works against any deployment and
  // never loads the server's code.
  client: [],
};

/** Packages that belong to some layers only. */
const PACKAGE_LAYERS: Record<string, readonly Layer[]> = {
  koa: ['http', 'root'],
  '@koa/router': ['http', 'root'],
  'koa-mount': ['http'],
  'oidc-provider': ['http'],
  ioredis: ['drivers'],
  mongodb: ['drivers'],
  'rate-limiter-flexible': ['drivers'],
  nodemailer: ['drivers'],
  'prom-client': ['services'],
};

function layerOf(file: string): Layer | undefined {
  return LAYER_OF.find(([pattern]) => pattern.test(file))?.[1];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, type-only imports included. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found = [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm)];
  return found.map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const files = SOURCES.flatMap(sourceFiles);

describe('layers (docs/architecture.md)', () => {
  it('finds the source files and their imports', () => {
    expect(files).to.include.members(['src/server.ts', 'src/storage/ports.ts', 'interactions/login-routes.ts']);
    expect(importsOf('src/server.ts')).to.include('./compose.ts');
  });

  it('puts every source file in a layer', () => {
    expect(files.filter((f) => !layerOf(f))).to.deep.equal([]);
  });

  it('has every import point to the same layer or one below it', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file)!;
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
        const to = layerOf(target);
        if (!to) wrong.push(`${file} imports ${target}, which is in no layer`);
        else if (to !== from && !MAY_IMPORT[from].includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('imports the web framework, the engine and the database and mail drivers only in their layers', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file)!;
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const allowed = PACKAGE_LAYERS[packageName(specifier)];
        if (allowed && !allowed.includes(from)) wrong.push(`${file} (${from}) imports ${specifier}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('sees a wrong-way import (the check itself works)', () => {
    expect(MAY_IMPORT[layerOf('src/sign-in/sign-in.ts')!]).not.to.include(layerOf('interactions/views/pages.ts'));
    expect(MAY_IMPORT[layerOf('src/storage/redis/redis-stores.ts')!]).not.to.include(layerOf('src/apps/apps-service.ts'));
    expect(MAY_IMPORT[layerOf('interactions/views/pages.ts')!]).not.to.include(layerOf('src/sign-in/sign-in.ts'));
  });
});
