# Slipway's images: one build stage, then a runtime stage for each service. Pick one with
# --target (always name it: the last stage, node-cache, is the default):
#
#   docker build --target coordinator -t slipway/coordinator .
#   docker build --target agent -t slipway/agent .
#   docker build --target node-cache -t slipway/node-cache .
#
# NODE_BASE is the build stage's image (node and npm) and RUNTIME_BASE the runtime stages'
# (node; the agent also needs git, installed with apt-get when the image lacks it). In a
# cluster both default to node:20-slim and `npm ci` downloads packages. REGISTRY_IMAGE is where
# the node cache's registry binary comes from (/bin/registry of the official registry:2).
# Where build steps have no network (the local environment), `scripts/images npm-cache` puts
# npm's cache into the context as .npm-offline/ and NPM_CI_FLAGS=--offline makes npm use only
# that; see scripts/images. Only Dockerfile syntax the legacy builder knows, so Slipway builds
# it too (the legacy builder builds every stage before the target: the node cache's stages come
# last so that building the others never pulls REGISTRY_IMAGE).
#
# Every image runs as uid 65532 (user slipway, group 65532, home /home/slipway), as the chart
# does: ssh needs a passwd entry for its uid.
ARG NODE_BASE=node:20-slim
ARG RUNTIME_BASE=${NODE_BASE}
ARG REGISTRY_IMAGE=registry:2

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
# The user Slipway runs as, unless the base has it already (the local bases do).
RUN if ! grep -q '^slipway:x:65532:65532:' /etc/passwd; then \
      groupadd --gid 65532 slipway \
      && useradd --uid 65532 --gid 65532 --home-dir /home/slipway --create-home --shell /bin/sh slipway; \
    fi

# The coordinator needs nothing of the node: it runs as an unprivileged user.
FROM runtime AS coordinator
ENV SLIPWAY_GRPC_LISTEN=0.0.0.0:7070
EXPOSE 7070
USER 65532:65532
ENTRYPOINT ["node", "dist/coordinator/main.js"]

# The agent fetches sources with git (ssh for ssh:// sources, git-lfs for LFS files). With the host executor it
# needs the node's Docker socket: run it as 65532 with the socket's group as a supplemental
# group (fsGroup/supplementalGroups in the Pod), or as root. The dind executor runs dockerd,
# which this image does not have, as root in a privileged container.
FROM runtime AS agent
USER 0
RUN if ! command -v git >/dev/null || ! command -v git-lfs >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends git git-lfs openssh-client ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /var/lib/slipway/agent && chown 65532:65532 /var/lib/slipway/agent
ENV SLIPWAY_AGENT_WORK_DIR=/var/lib/slipway/agent
USER 65532:65532
ENTRYPOINT ["node", "dist/agent/main.js"]

# The node cache runs docker-registry (distribution 2.8) in proxy mode behind its own front: the
# official registry image's binary (static), at the path SLIPWAY_REGISTRY_BINARY names.
FROM ${REGISTRY_IMAGE} AS registry

FROM runtime AS node-cache
COPY --from=registry /bin/registry /usr/local/bin/registry
RUN mkdir -p /var/lib/slipway/node-cache && chown 65532:65532 /var/lib/slipway/node-cache
ENV SLIPWAY_REGISTRY_BINARY=/usr/local/bin/registry \
    SLIPWAY_CACHE_ROOT=/var/lib/slipway/node-cache
USER 65532:65532
ENTRYPOINT ["node", "dist/node-cache/main.js"]
