// Moves Date.now() forward for expiry tests. The server under test runs in this process,
// so oidc-provider, the stores and openid-client all see the same shifted clock; timers
// are untouched. Always restore in afterEach.
const realNow = Date.now;
let offset = 0;

export function travel(seconds: number): void {
  offset += seconds * 1000;
  Date.now = () => realNow() + offset;
}

export function restoreClock(): void {
  offset = 0;
  Date.now = realNow;
}
