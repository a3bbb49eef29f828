#!/usr/bin/env bash
# npm run image:test (not in CI): builds the server image (deploy/container/Dockerfile) with podman
# from a base made on this machine, since no base image can be pulled here: debootstrap of Debian
# bookworm (minbase) plus this machine's Node binary and npm. Then starts three containers, does a
# put and a get, checks each container's HEALTHCHECK, and prints the image's size. Containers and
# the work directory are removed however it ends. Needs root, podman and debootstrap (apt-get
# install podman debootstrap); RINGSTORE_IMAGE_BASE=IMAGE skips the local base and builds on it
# (e.g. docker.io/library/node:20-bookworm-slim where a registry is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in podman debootstrap runc; do
  command -v "$tool" >/dev/null || { echo "image:test: $tool is missing (apt-get install -y podman debootstrap runc)" >&2; exit 2; }
done
# runc, with resource limits below the machine's: sandboxed machines (no CAP_SYS_RESOURCE, hybrid
# cgroups) refuse crun's cgroup set-up and any limit at or above their own.
podman=(podman --runtime "${RINGSTORE_OCI_RUNTIME:-runc}")
limits=(--ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
[ "$(id -u)" = 0 ] || { echo "image:test: run as root (debootstrap and rootful podman)" >&2; exit 2; }
version=$(node --input-type=module -e "const m = await import('./tools/dist/pack.js'); console.log(m.publishedVersion)")
image="localhost/ringstore:${version}"
work=$(mktemp -d /tmp/ringstore-image-XXXXXX)
names=(ringstore-it-n1 ringstore-it-n2 ringstore-it-n3)
cleanup() {
  "${podman[@]}" rm -f -t 5 "${names[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
base=${RINGSTORE_IMAGE_BASE:-localhost/ringstore-base:bookworm-node$(node --version)}
if [ -z "${RINGSTORE_IMAGE_BASE:-}" ] && ! podman image exists "$base"; then
  echo "== base $base: debootstrap bookworm from $mirror, this machine's node $(node --version) and npm"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  install -m 0755 "$(command -v node)" "$work/rootfs/usr/local/bin/node"
  npm_root=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$work/rootfs/usr/local/lib/node_modules"
  cp -a "$npm_root" "$work/rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  # Node's headers, where an official Node build keeps them (node-gyp builds against them).
  node_include=$(dirname "$(dirname "$(command -v node)")")/include/node
  mkdir -p "$work/rootfs/usr/local/include"
  cp -a "$node_include" "$work/rootfs/usr/local/include/node"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

echo "== npm run pack"
npm run -s pack >/dev/null
echo "== build $image on $base"
# A CA this machine's Node trusts beyond the system's (a TLS-intercepting proxy to the registry)
# goes to the build as the optional secret extra_ca, never into the image.
secret=()
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ] && secret=(--secret "id=extra_ca,src=$NODE_EXTRA_CA_CERTS")
"${podman[@]}" build "${limits[@]}" "${secret[@]}" --network host --format docker -f deploy/container/Dockerfile --build-arg "BASE=$base" \
  --build-arg "VERSION=$version" -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; exit 1; }
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image $image: $((size / 1024 / 1024)) MiB ($size bytes)"
if "${podman[@]}" run "${limits[@]}" --rm --entrypoint sh "$image" -c 'command -v g++ || command -v gcc || command -v make' >/dev/null; then
  echo "image:test: the final image holds build tools" >&2; exit 1
fi
[ "$("${podman[@]}" run "${limits[@]}" --rm --entrypoint id "$image" -u)" = 10001 ] || { echo "image:test: not the ringstore user" >&2; exit 1; }

# Three nodes on host networking, on ports free now.
read -r -a ports <<<"$(node -e "
const net = require('node:net');
const one = () => new Promise((r) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
(async () => { const ps = []; while (ps.length < 9) { const p = await one(); if (!ps.includes(p)) ps.push(p); } console.log(ps.join(' ')); })();
")"
members=""
for i in 0 1 2; do
  members="${members:+$members,}n$((i + 1))=127.0.0.1:${ports[$((3 * i))]}/127.0.0.1:${ports[$((3 * i + 1))]}"
done
for i in 0 1 2; do
  id="n$((i + 1))"
  mkdir -p "$work/$id" && chown 10001:10001 "$work/$id"
  "${podman[@]}" run "${limits[@]}" -d --name "${names[$i]}" --network host -v "$work/$id:/var/lib/ringstore" \
    -e "RINGSTORE_ADMIN_LISTEN=127.0.0.1:${ports[$((3 * i + 2))]}" "$image" \
    --id "$id" --listen "127.0.0.1:${ports[$((3 * i))]}" \
    --peer-listen "127.0.0.1:${ports[$((3 * i + 1))]}" --nodes "$members" >/dev/null
done
for i in 0 1 2; do
  for attempt in $(seq 1 60); do
    "${podman[@]}" healthcheck run "${names[$i]}" >/dev/null 2>&1 && break
    [ "$attempt" = 60 ] && { "${podman[@]}" logs "${names[$i]}" | tail -20 >&2; echo "image:test: ${names[$i]} not healthy" >&2; exit 1; }
    sleep 1
  done
done
echo "== three containers healthy; put on n1, get on n3"
"${podman[@]}" exec "${names[0]}" ringctl --node "127.0.0.1:${ports[0]}" put greeting hello-from-a-container
got=$("${podman[@]}" exec "${names[2]}" ringctl --node "127.0.0.1:${ports[6]}" --json get greeting)
echo "$got"
echo "$got" | grep -q "$(printf 'hello-from-a-container' | base64)" || { echo "image:test: get did not return the value" >&2; exit 1; }
echo "image:test: ok"
