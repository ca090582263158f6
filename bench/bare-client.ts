// What the benchmark's client knows of the bare engine (bench/bare-engine.ts), in a module
// of its own: importing the engine's file would start a server.
export const BARE_CLIENT_ID = 'bare-bench-client';
export const BARE_ACCOUNT = 'bench@example.com';
