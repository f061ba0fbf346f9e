#!/usr/bin/env bash
# The same build as Slipway's, by hand: clone, build, push. For bench/overhead.ts.
# usage: bare-build.sh DOCKER_HOST GIT_URI IMAGE [--no-cache]
set -euo pipefail
host=$1 uri=$2 image=$3; shift 3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone --quiet --depth 1 --branch main "$uri" "$dir/src"
docker -H "$host" build --quiet "$@" -t "$image" "$dir/src" >/dev/null
docker -H "$host" push --quiet "$image" >/dev/null
