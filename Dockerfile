# syntax=docker/dockerfile:1
# One image recipe for the three services: `--build-arg SERVICE=workflows-svc` (or
# scheduler-svc, runner-svc). The stages are identical for all three but for the
# workspace they keep, so one file says it once.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY shared/package.json shared/
COPY workflows-svc/package.json workflows-svc/
COPY scheduler-svc/package.json scheduler-svc/
COPY runner-svc/package.json runner-svc/
COPY system/package.json system/
RUN npm ci --no-audit --no-fund
COPY shared shared
COPY workflows-svc workflows-svc
COPY scheduler-svc scheduler-svc
COPY runner-svc runner-svc
ARG SERVICE
RUN test -n "${SERVICE}" && npx tsc -b "${SERVICE}"

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY workflows-svc/package.json workflows-svc/
COPY scheduler-svc/package.json scheduler-svc/
COPY runner-svc/package.json runner-svc/
COPY system/package.json system/
# Production dependencies of this service and of shared only.
RUN npm ci --omit=dev --no-audit --no-fund --workspace "${SERVICE}" --include-workspace-root=false \
 && npm cache clean --force
COPY --from=build /app/shared/dist shared/dist
COPY --from=build /app/${SERVICE}/dist ${SERVICE}/dist
USER node
# workflows-svc answers on PORT, the other two on HEALTH_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
# exec: node is PID 1 and gets SIGTERM itself; every service drains on it.
CMD ["sh", "-c", "exec node \"${SERVICE}/dist/src/main.js\""]
