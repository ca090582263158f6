# Postern: one image, configured entirely by environment variables or files (see docs/configuration.md).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
# An exact version (the one the test suite runs on), so a rebuild never changes Node under you.
FROM node:24.21.0-slim

ENV NODE_ENV=production
WORKDIR /app

# Production dependencies only. The `node` devDependency (Node 24 for npm scripts on
# older hosts) is left out: the image's own Node 24 runs the server.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay owned by root and read-only for the user that runs them.
COPY config/ ./config/
COPY src/ ./src/
COPY interactions/ ./interactions/

USER node
EXPOSE 3000

# Ready: listening and every store answering; 503 while a store is down or during shutdown.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "--disable-warning=ExperimentalWarning", "src/main.ts"]
