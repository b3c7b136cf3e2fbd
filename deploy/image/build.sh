#!/usr/bin/env bash
# Builds the Teller image from Containerfile, tagged IMAGE:VERSION and IMAGE:latest (IMAGE default
# "teller", VERSION from package.json), with the OCI version, revision and source labels.
#
#   deploy/image/build.sh           what `make image` runs: buildah when installed, else docker, else
#                                   podman (ENGINE=docker|podman|buildah picks one)
#   deploy/image/build.sh --test    what `make image-test` runs on a machine without a container
#                                   registry or engine (../shared/containers.md): buildah only, with a
#                                   local stand-in for node:20-bookworm-slim when it cannot be pulled
#
# Buildah builds with chroot isolation (BUILDAH_ISOLATION overrides it): the one that works where
# containers cannot run, and enough for a build that runs only npm ci and tsc from this repository.
# Behind a TLS-intercepting proxy, set NODE_EXTRA_CA_CERTS: its folder is mounted read-only into the
# build's RUN steps (buildah, podman), and the final image keeps neither.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
test_mode=false
[ "${1:-}" = --test ] && test_mode=true

image=${IMAGE:-teller}
base=docker.io/library/node:20-bookworm-slim
data=$root/.test-data/image
version=$(sed -nE 's/^  "version": "([^"]+)".*/\1/p' package.json | head -n 1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)

# The repository's address without credentials; scp-style git@host:path becomes https://host/path.
source_url() {
  local url
  url=$(git remote get-url origin 2>/dev/null || true)
  if [ -z "$url" ]; then
    echo "${IMAGE_SOURCE:-unknown}"
    return
  fi
  url=$(printf '%s' "$url" | sed -E 's#^[a-z+]+://[^@/]*@#https://#; s#^git@([^:]+):#https://\1/#; s#\.git$##')
  echo "$url"
}

# Some buildah and podman commands set rlimits, which these machines refuse; an empty
# default_ulimits avoids it. A CONTAINERS_CONF of the caller's own is kept.
if [ -z "${CONTAINERS_CONF:-}" ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$data"
  printf '[containers]\ndefault_ulimits = []\n' >"$data/containers.conf"
  export CONTAINERS_CONF=$data/containers.conf
fi

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v buildah >/dev/null; then engine=buildah
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null; then engine=podman
  else
    echo "build.sh: no container builder: install buildah, Docker or Podman" >&2
    exit 1
  fi
fi
if $test_mode && { [ "$engine" != buildah ] || [ "$(id -u)" != 0 ]; }; then
  echo "build.sh --test: needs root and buildah (apt-get install -y buildah debootstrap)" >&2
  exit 1
fi

# The stand-in base (../shared/containers.md): a Debian bookworm minbase with this machine's node
# and npm where the official image keeps them, tagged as the official image. Built once; later runs
# find it in the local image store. Only when the real image is neither stored nor pullable.
ensure_base() {
  if buildah inspect --type image "$base" >/dev/null 2>&1; then return; fi
  if timeout 120 buildah pull --quiet "$base" >/dev/null 2>&1; then return; fi
  echo "build.sh: $base cannot be pulled; building a local stand-in with debootstrap" >&2
  # A subshell, so its EXIT trap removes the working container whatever happens.
  (
    node=$(readlink -f "$(command -v node)")
    npm=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
    ctr=$(buildah from scratch)
    trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    mnt=$(buildah mount "$ctr")
    if ! debootstrap --variant=minbase bookworm "$mnt" >"$data/debootstrap.log" 2>&1; then
      echo "build.sh: debootstrap failed; see $data/debootstrap.log" >&2
      exit 1
    fi
    rm -rf "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/lib/apt/lists/*
    install -m 755 "$node" "$mnt/usr/local/bin/node"
    mkdir -p "$mnt/usr/local/lib/node_modules"
    cp -a "$npm" "$mnt/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env NODE_VERSION="$("$node" -p process.versions.node)" --cmd node "$ctr"
    buildah commit --quiet "$ctr" "$base" >/dev/null
  )
}

args=(
  -f Containerfile
  -t "$image:$version" -t "$image:latest"
  --build-arg VERSION="$version"
  --build-arg REVISION="$revision"
  --build-arg SOURCE="$(source_url)"
)
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ "$engine" != docker ]; then
  ca_dir=$(dirname "$NODE_EXTRA_CA_CERTS")
  args+=(-v "$ca_dir:$ca_dir:ro" --build-arg NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS")
fi

case $engine in
  buildah)
    if $test_mode; then
      mkdir -p "$data"
      ensure_base
    fi
    # Docker format: the OCI format has no HEALTHCHECK. --layers caches each step like Docker does.
    buildah bud --format docker --layers --jobs 2 --pull=false \
      --isolation "${BUILDAH_ISOLATION:-chroot}" "${args[@]}" .
    ;;
  podman) podman build --format docker "${args[@]}" . ;;
  docker) docker build "${args[@]}" . ;;
  *)
    echo "build.sh: ENGINE must be buildah, docker or podman" >&2
    exit 1
    ;;
esac
echo "built $image:$version ($engine)" >&2
