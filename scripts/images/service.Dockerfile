# The template of the three services' Dockerfiles (<service>/Dockerfile), which
# `scripts/images.sh dockerfiles` makes from it; system/test/deploy-files.test.ts checks
# that they are what it makes. Placeholders: @SERVICE@, @WHAT@, @PORT_VARIABLE@, @PORT@;
# lines that begin with @DASHBOARD@ are kept (without it) only in the image that serves the
# dashboard (workflows-svc), and left out of the others.
# Everything from the next line on is a Dockerfile's text.
# The @SERVICE@ image (@WHAT@); the build context is the repository root:
#   docker build -f @SERVICE@/Dockerfile -t workflow-automation/@SERVICE@ .
# Made from scripts/images/service.Dockerfile by `scripts/images.sh dockerfiles`: change the
# template, not this file. The three services' images differ only in name and port (and the
# dashboard, which only workflows-svc serves), so the layers up to the compiled shared
# package are the same and a builder's cache makes them once.
# PID 1 is node (exec-form CMD), which drains on SIGTERM within 25 s; compose adds
# `init: true` to reap zombies (`docker run --init` likewise).
FROM node:20-bookworm-slim AS manifests
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# npm ci checks the lockfile against every workspace's manifest, even when it installs one.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY workflows-svc/package.json workflows-svc/
COPY scheduler-svc/package.json scheduler-svc/
COPY runner-svc/package.json runner-svc/
COPY system/package.json system/
COPY web/package.json web/

# Every dependency, dev included (TypeScript, Vite), exactly as locked.
FROM manifests AS deps
RUN npm ci

@DASHBOARD@# The dashboard's static files, built by Vite (it imports only types from the packages).
@DASHBOARD@FROM deps AS web
@DASHBOARD@COPY web web
@DASHBOARD@RUN cd web && npx vite build
@DASHBOARD@
# shared, then the service.
FROM deps AS build
COPY tsconfig.base.json ./
COPY shared shared
RUN npx tsc -b shared
COPY @SERVICE@ @SERVICE@
RUN npx tsc -b @SERVICE@

# The service's production dependencies and compiled code, owned by root and run as `node`,
# so the service cannot change its own code.
FROM manifests
ENV NODE_ENV=production
RUN npm ci --omit=dev --workspace @SERVICE@ --include-workspace-root=false \
 && npm cache clean --force
COPY --from=build /app/shared/dist/src shared/dist/src
COPY --from=build /app/@SERVICE@/dist/src @SERVICE@/dist/src
@DASHBOARD@COPY --from=web /app/web/dist/app web/dist/app
ENV @PORT_VARIABLE@=@PORT@
EXPOSE @PORT@
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.@PORT_VARIABLE@ || @PORT@) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "@SERVICE@/dist/src/main.js"]
