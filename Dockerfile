# syntax=docker/dockerfile:1
#
# One recipe, one image per service: pick the service with --target.
#
#   docker build --target workflows-svc -t wf/workflows-svc .
#   docker build --target scheduler-svc -t wf/scheduler-svc .
#   docker build --target runner-svc    -t wf/runner-svc .
#
# (docker-compose.yaml does the same with `build.target`.) The build context is the repo
# root: every service needs the root lockfile and the `shared` workspace.
#
# Stages: manifests (package.json files + lockfile) -> deps (`npm ci`, dev included) ->
# build (`npm run build`, the root script) -> one runtime stage per service with only
# the production dependencies of that service and `shared`, plus their compiled
# dist/src. The build stage is shared, so building all three compiles once.
#
# Base image: node:20-bookworm-slim rather than alpine: glibc (no musl surprises in
# prebuilt native addons), the same Debian the developers and CI run, and the size
# difference is small next to node_modules.
#
# PID 1: the CMD is exec form, so `node` itself receives SIGTERM (no shell in between);
# every service installs SIGTERM/SIGINT handlers and drains within 25 s (shared
# lifecycle.ts). docker-compose.yaml additionally sets `init: true` (Docker's bundled
# tini) so zombies are reaped and a signal arriving before the handlers are installed
# still stops the process; with plain `docker run`, add `--init` for the same.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Only what `npm ci` reads: the lockfile and every workspace's manifest (npm ci checks the
# lockfile against all of them, even when it installs one workspace).
FROM base AS manifests
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY workflows-svc/package.json workflows-svc/
COPY scheduler-svc/package.json scheduler-svc/
COPY runner-svc/package.json runner-svc/
COPY system/package.json system/

# Every dependency, dev included (TypeScript), exactly as locked.
FROM manifests AS deps
RUN npm ci

# `npm run build` is the root script (`tsc -b system`), which builds every workspace.
FROM deps AS build
COPY tsconfig.base.json ./
COPY shared shared
COPY workflows-svc workflows-svc
COPY scheduler-svc scheduler-svc
COPY runner-svc runner-svc
COPY system system
RUN npm run build

# Common to the three runtime images; each adds its own production dependencies.
FROM manifests AS runtime
ENV NODE_ENV=production

FROM runtime AS workflows-svc
RUN npm ci --omit=dev --workspace workflows-svc --include-workspace-root=false \
 && npm cache clean --force
COPY --from=build /app/shared/dist/src shared/dist/src
COPY --from=build /app/workflows-svc/dist/src workflows-svc/dist/src
ENV PORT=3000
EXPOSE 3000
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "workflows-svc/dist/src/main.js"]

FROM runtime AS scheduler-svc
RUN npm ci --omit=dev --workspace scheduler-svc --include-workspace-root=false \
 && npm cache clean --force
COPY --from=build /app/shared/dist/src shared/dist/src
COPY --from=build /app/scheduler-svc/dist/src scheduler-svc/dist/src
ENV HEALTH_PORT=3001
EXPOSE 3001
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 3001) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "scheduler-svc/dist/src/main.js"]

FROM runtime AS runner-svc
RUN npm ci --omit=dev --workspace runner-svc --include-workspace-root=false \
 && npm cache clean --force
COPY --from=build /app/shared/dist/src shared/dist/src
COPY --from=build /app/runner-svc/dist/src runner-svc/dist/src
ENV HEALTH_PORT=3002
EXPOSE 3002
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 3002) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "runner-svc/dist/src/main.js"]

# Last, so a build without --target stops with a clear message instead of silently
# producing one of the services.
FROM base AS no-target
RUN echo 'Choose a service: docker build --target workflows-svc|scheduler-svc|runner-svc .' >&2 && exit 1
