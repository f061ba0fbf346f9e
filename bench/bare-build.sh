#!/usr/bin/env bash
# The same build as Slipway's, by hand: clone, build, push. For bench/overhead.ts and
# bench/realistic-build.ts.
# usage: bare-build.sh DOCKER_HOST GIT_URI IMAGE buildkit|legacy [docker build options...]
#   buildkit: DOCKER_BUILDKIT=1, with --network host (the daemon here has no bridge network)
#   legacy:   DOCKER_BUILDKIT=0, the legacy builder
# BARE_BUILD_LOG: a file to write the build's output to (BuildKit's as plain progress); without
# it the build runs with --quiet.
# Prints how long each step took, in ms, on stdout: `clone N`, `build N`, `push N`.
# The docker CLI is $SLIPWAY_BENCH_DOCKER (docker unless set): one whose `docker build` runs
# BuildKit when DOCKER_BUILDKIT=1 without buildx (20.10's built-in client) or with it.
set -euo pipefail
host=$1 uri=$2 image=$3 builder=$4; shift 4
docker=${SLIPWAY_BENCH_DOCKER:-docker}
case $builder in
  buildkit) export DOCKER_BUILDKIT=1; set -- --network host "$@" ;;
  legacy) export DOCKER_BUILDKIT=0 ;;
  *) echo "bare-build.sh: builder must be buildkit or legacy, not '$builder'" >&2; exit 2 ;;
esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
t0=${EPOCHREALTIME/./}
git clone --quiet --depth 1 --branch main "$uri" "$dir/src"
t1=${EPOCHREALTIME/./}
if [ -n "${BARE_BUILD_LOG:-}" ]; then
  if [ "$builder" = buildkit ]; then set -- --progress=plain "$@"; fi
  "$docker" -H "$host" build "$@" -t "$image" "$dir/src" >"$BARE_BUILD_LOG" 2>&1 ||
    { tail -n 20 "$BARE_BUILD_LOG" >&2; exit 1; }
else
  "$docker" -H "$host" build --quiet "$@" -t "$image" "$dir/src" >/dev/null
fi
t2=${EPOCHREALTIME/./}
"$docker" -H "$host" push --quiet "$image" >/dev/null
t3=${EPOCHREALTIME/./}
printf 'clone %d\nbuild %d\npush %d\n' $(((t1 - t0) / 1000)) $(((t2 - t1) / 1000)) $(((t3 - t2) / 1000))
