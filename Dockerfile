# Postern: one image, configured entirely by environment variables or files (see docs/configuration.md).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
# An exact version (the one the test suite runs on), so a rebuild never changes Node under you.

# Stage 1: the native ES512 signer (docs/es512-signer.md), compiled against the Node-API
# headers from the lockfile and OpenSSL's headers. Unlike `npm run build:native` on a
# development machine, a failed build fails the image: the image promises the fast signer.
FROM node:24.21.0-slim AS native-signer
RUN apt-get update \
  && apt-get install -y --no-install-recommends gcc libc6-dev libssl-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY native/ ./native/
RUN CC=gcc node --disable-warning=ExperimentalWarning native/es512/build.ts \
  && test -f native/es512/build/es512.node

# Stage 2: what runs.
FROM node:24.21.0-slim

ENV NODE_ENV=production
WORKDIR /app

# The native signer opens the system's libcrypto.so.3 when Postern starts. The `openssl`
# package depends on it whatever this Debian release names the library's package (libssl3,
# libssl3t64). ES512_SIGNER stays `auto`: should the library fail to load on some host,
# Postern logs why once and signs with Node's crypto (the postern_es512_signer metric shows which).
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/*

# Production dependencies only. The `node` devDependency (Node 24 for npm scripts on
# older hosts) is left out: the image's own Node 24 runs the server.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay owned by root and read-only for the user that runs them.
COPY config/ ./config/
COPY src/ ./src/
COPY interactions/ ./interactions/
COPY bin/ ./bin/
COPY --from=native-signer /build/native/es512/build/es512.node ./native/es512/build/es512.node

USER node
EXPOSE 3000

# Ready: listening and every store answering; 503 while a store is down or during shutdown.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The V8 heap cap (old generation) and young generation bound resident memory: see
# docs/operations.md ("Memory"). Raise --max-old-space-size with PROVIDER_CACHE_MB (2.5x).
CMD ["node", "--max-old-space-size=640", "--max-semi-space-size=8", "--disable-warning=ExperimentalWarning", "src/main.ts"]
