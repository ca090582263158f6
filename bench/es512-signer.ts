// `npm run bench:signer`: ES512 signatures per second on this machine, one key, three
// signers: Node's crypto.sign (Node's bundled OpenSSL), jose (WebCrypto, what the engine
// uses under the fallback) and the native signer (the system's libcrypto, native/es512/).
// "one core": one signature at a time (crypto.sign on the event loop, the others one in
// flight on the thread pool); "both cores": 8 in flight on the libuv pool. Before timing,
// the native signer's signatures are checked with jose against the same key.
// A measurement for people, never a test: numbers vary with the machine and its load.
import { sign } from 'node:crypto';
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose';
import { NativeEs512 } from '../src/keys/native-signer.ts';
import { syncRate } from './machine-gauge.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const MESSAGE = Buffer.from(`${'eyJhbGciOiJFUzUxMiJ9'}.${Buffer.from(JSON.stringify({ sub: 'someone@example.com', aud: 'app', iss: 'https://postern.example/apps/x' })).toString('base64url')}`);

type Sign = () => Promise<unknown>;

async function rate(concurrency: number, once: Sign): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
  let count = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await once();
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - start) / 1000);
}

const pair = await generateKeyPair('ES512', { extractable: true });
const jwk = { ...(await exportJWK(pair.privateKey)), kid: 'bench', alg: 'ES512' };
const nodeKey = { key: (await import('node:crypto')).createPrivateKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' as const };
const joseKey = await importJWK(jwk, 'ES512');
const joseSign = () => new CompactSign(MESSAGE).setProtectedHeader({ alg: 'ES512' }).sign(joseKey);
const nodeAsync = () => new Promise<Buffer>((resolve, reject) => sign('sha512', MESSAGE, nodeKey, (err, sig) => (err ? reject(err) : resolve(sig))));

let native: NativeEs512 | undefined;
let why = '';
try {
  native = await NativeEs512.load();
} catch (err) {
  why = (err as Error).message;
}
const nativeKey = native?.importKey(jwk);
if (nativeKey) {
  const publicKey = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'ES512');
  for (let i = 0; i < 50; i++) {
    const input = `eyJhbGciOiJFUzUxMiJ9.${Buffer.from(`message ${i}`).toString('base64url')}`;
    await compactVerify(`${input}.${(await nativeKey.sign(Buffer.from(input))).toString('base64url')}`, publicKey);
  }
}

// crypto.sign without a callback runs on the event loop: one core, however many are "in flight".
const rows: [string, number, number | undefined][] = [
  ['node crypto.sign', syncRate(() => sign('sha512', MESSAGE, nodeKey), SECONDS), await rate(8, nodeAsync)],
  ['jose (WebCrypto)', await rate(1, joseSign), await rate(8, joseSign)],
];
if (nativeKey) rows.push([`native (${native!.version})`, await rate(1, () => nativeKey.sign(MESSAGE)), await rate(8, () => nativeKey.sign(MESSAGE))]);

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`ES512 signatures per second (${SECONDS} s each; libuv pool: ${process.env.UV_THREADPOOL_SIZE ?? 4} threads)\n`);
console.log(`${'signer'.padEnd(width)}  ${'one core'.padStart(10)}  ${'both cores'.padStart(10)}`);
for (const [name, one, both] of rows) console.log(`${name.padEnd(width)}  ${one.toFixed(0).padStart(10)}  ${(both?.toFixed(0) ?? '-').padStart(10)}`);
if (nativeKey) {
  const ratio = rows[2]![1] / rows[0]![1];
  console.log(`\nnative / node crypto.sign on one core: ${ratio.toFixed(1)}× (target ≥ 3×); 50 native signatures verified with jose first`);
} else {
  console.log(`\nnative signer not measured: ${why}`);
}
