// `npm run build:native`: compiles the ES512 signer (es512.c) into build/es512.node with
// the system C compiler, offline: the Node-API headers come from the node-api-headers
// package, OpenSSL's from libssl-dev. Nothing is linked against libcrypto (the addon opens
// it itself, see es512.c). This never fails the install: without a compiler or the
// headers it says why, removes any stale build, and Postern runs with Node's crypto
// (ES512_SIGNER=auto logs the reason once at start).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const here = import.meta.dirname;
const out = join(here, 'build', 'es512.node');
const partial = `${out}.partial`;

function napiHeaders(): string {
  try {
    return (createRequire(import.meta.url)('node-api-headers') as { include_dir: string }).include_dir;
  } catch {
    throw new Error('the node-api-headers package is not installed (a development dependency)');
  }
}

const cc = process.env.CC || 'cc';
try {
  const include = napiHeaders();
  if (!existsSync('/usr/include/openssl/evp.h')) throw new Error('OpenSSL headers not found (install libssl-dev)');
  mkdirSync(join(here, 'build'), { recursive: true });
  execFileSync(
    cc,
    ['-std=c11', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror', '-I', include, join(here, 'es512.c'), '-o', partial, '-ldl', '-lpthread'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  renameSync(partial, out);
  console.log(`native ES512 signer built: ${out}`);
} catch (err) {
  rmSync(partial, { force: true });
  rmSync(out, { force: true });
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no C compiler (${cc}) found` : (err as Error).message.split('\n')[0];
  console.warn(`native ES512 signer not built (${reason}); Postern will sign ES512 with Node's crypto.`);
}
