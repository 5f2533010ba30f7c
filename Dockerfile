# The coordinator and the device daemon in one image (`cloudsync coordinator`, `cloudsync
# sync`). Two stages: the first installs everything and builds the WASM chunker, the second
# keeps the runtime dependencies and the built files only, and runs as the unprivileged
# `node` user of the official image.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` builds the WASM chunker, which needs the sources: install first, build below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build:wasm && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/cloudsync.ts", "coordinator"]
