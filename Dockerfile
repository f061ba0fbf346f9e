# Slipway's images: one build stage, then a runtime stage for each service. Pick one with
# --target (the last stage, agent, is the default):
#
#   docker build --target coordinator -t slipway/coordinator .
#   docker build --target agent -t slipway/agent .
#
# NODE_BASE is the build stage's image (node and npm) and RUNTIME_BASE the runtime stages'
# (node; the agent also needs git, installed with apt-get when the image lacks it). In a
# cluster both default to node:20-slim and `npm ci` downloads packages. Where build steps have
# no network (the local environment), `scripts/images npm-cache` puts npm's cache into the
# context as .npm-offline/ and NPM_CI_FLAGS=--offline makes npm use only that; see
# scripts/images. Only Dockerfile syntax the legacy builder knows, so Slipway builds it too.
ARG NODE_BASE=node:20-slim
ARG RUNTIME_BASE=${NODE_BASE}

FROM ${NODE_BASE} AS build
ARG NPM_CI_FLAGS=--prefer-offline
WORKDIR /src
COPY package.json package-lock.json ./
# The glob lets .npm-offline be absent; package.json keeps the COPY from matching nothing.
COPY package.json .npm-offlin[e] /tmp/npm-cache/
# Install scripts only build optional native speed-ups (ssh2's cpu-features) and print notices.
RUN npm ci --cache /tmp/npm-cache ${NPM_CI_FLAGS} --ignore-scripts --no-audit --no-fund --loglevel=warn
COPY tsconfig.json ./
COPY proto proto
COPY api api
COPY common common
COPY coordinator coordinator
COPY agent agent
COPY node-cache node-cache
COPY cli cli
# tsconfig also takes test/ and bench/; they are not in this stage, so they are not compiled.
RUN node_modules/.bin/tsc -p tsconfig.json \
 && npm prune --omit=dev --cache /tmp/npm-cache ${NPM_CI_FLAGS} --ignore-scripts --no-audit --no-fund --loglevel=warn \
 && rm -rf /tmp/npm-cache

# What both services run: compiled code, production node_modules, the .proto files (loaded at
# run time), package.json (it says "type": "module").
FROM ${RUNTIME_BASE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/proto proto
COPY --from=build /src/dist dist

# The coordinator needs nothing of the node: it runs as an unprivileged user.
FROM runtime AS coordinator
ENV SLIPWAY_GRPC_LISTEN=0.0.0.0:7070
EXPOSE 7070
USER 10001:10001
ENTRYPOINT ["node", "dist/coordinator/main.js"]

# The agent fetches sources with git (and ssh for ssh:// sources). With the host executor it
# needs the node's Docker socket: run it as 10001 with the socket's group as a supplemental
# group (fsGroup/supplementalGroups in the Pod), or as root. The dind executor runs dockerd,
# which this image does not have, as root in a privileged container.
FROM runtime AS agent
USER 0
RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /var/lib/slipway/agent && chown 10001:10001 /var/lib/slipway/agent
ENV SLIPWAY_AGENT_WORK_DIR=/var/lib/slipway/agent
USER 10001:10001
ENTRYPOINT ["node", "dist/agent/main.js"]
