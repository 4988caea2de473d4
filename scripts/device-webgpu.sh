#!/usr/bin/env bash
# Runs bench/webgpu-check.ts on a machine with a GPU but no Node, no npm and no network (the
# workplace's loaned GPU machine), through Dawn's Node binding instead of a browser.
#
#   bash scripts/device-webgpu.sh prepare   # here (x86-64, network to npm + Debian): builds .device/
#   bash scripts/device-webgpu.sh bundle    # only re-bundles bench/webgpu-check.ts after an edit
#   bash scripts/device-webgpu.sh remote    # there, from the repo root, with .device carried
#   bash scripts/device-webgpu.sh local     # here: the same bundle on Dawn's OpenGL backend (Mesa
#                                           # llvmpipe), the rehearsal of the remote run
#
# .device/ (ignored through .git/info/exclude; ~34 MB carried, as the five paths in CARRY) holds:
#   node.xz              this machine's /usr/bin/node (v20, x86-64, needs only glibc/libstdc++)
#   dawn.node.xz         dist/linux-x64/dawn.node from the npm package webgpu@$WEBGPU_VERSION
#                        (not a dependency of the project: fetched with `npm pack` into a temp dir)
#   webgpu-check.mjs     bench/webgpu-check.ts and all it imports (TF.js, the WebGPU backend,
#                        src/model, src/partition, src/runtime/local-executor.ts) as one esbuild bundle
#   gl/*.deb             Debian's Vulkan loader and GL dispatch libraries, unpacked there only if
#                        that machine has no libvulkan.so.1 (NVIDIA's ICD is in its driver folder)
#   cpu-reference.json   TF.js 'cpu' logits of every model, computed here (the full VGG-16 takes
#                        ~5 min on TF.js 'cpu'; the same JS kernels give the same bits there)
set -euo pipefail
cd "$(dirname "$0")/.."
WEBGPU_VERSION=0.6.2
DIR=.device
# What the run tool's `carry` names (everything in .device/ but local/).
CARRY=("$DIR/node.xz" "$DIR/dawn.node.xz" "$DIR/webgpu-check.mjs" "$DIR/gl" "$DIR/cpu-reference.json")

# One ESM file; the banner gives bundled CommonJS code (TF.js's Node builds) a `require`.
bundle() {
  node_modules/.bin/esbuild bench/webgpu-check.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile="$DIR/webgpu-check.mjs" --log-level=warning \
    --banner:js="import { createRequire as __modnnCreateRequire } from 'node:module'; const require = __modnnCreateRequire(import.meta.url);"
}

prepare() {
  mkdir -p "$DIR/gl"
  grep -qx '/.device/' .git/info/exclude || echo '/.device/' >> .git/info/exclude
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "webgpu@$WEBGPU_VERSION" >/dev/null && tar xzf "webgpu-$WEBGPU_VERSION.tgz")
  sha256sum "$tmp/webgpu-$WEBGPU_VERSION.tgz"
  xz -T2 -6 -c "$tmp/package/dist/linux-x64/dawn.node" > "$DIR/dawn.node.xz"
  mkdir -p "$DIR/local" && cp "$tmp/package/dist/linux-x64/dawn.node" "$DIR/local/dawn.node" # for `local` only: not carried
  rm -rf "$tmp"
  [ "$(uname -m)" = x86_64 ] || { echo "node must be x86-64: build .device on an x86-64 machine" >&2; exit 1; }
  [ -s "$DIR/node.xz" ] || xz -T2 -6 -c "$(command -v node)" > "$DIR/node.xz"
  bundle
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd "$DIR/gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
  if [ ! -s "$DIR/cpu-reference.json" ]; then
    npx tsx bench/webgpu-check.ts --backend cpu --models vgg16-small,mobilenetv2,vgg16-medium,vgg16-full \
      --only-reference --budget-s 3000 --out "$DIR/cpu-reference.json"
  fi
  du -ch "${CARRY[@]}" | tail -1
}

local_run() {
  # Dawn's Vulkan backend refuses Mesa 22's lavapipe; its OpenGL backend on llvmpipe works in
  # compatibility mode (apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri).
  XDG_RUNTIME_DIR=/tmp EGL_PLATFORM=surfaceless node "$DIR/webgpu-check.mjs" --backend webgpu \
    --dawn "$PWD/$DIR/local/dawn.node" --dawn-flag backend=opengl --compat --models vgg16-small,mobilenetv2 \
    --reference "$DIR/cpu-reference.json" --budget-s 900 "$@"
}

remote() {
  local out=${OUT:-/tmp/out} bin=/tmp/modnn-webgpu
  mkdir -p "$out" "$bin"
  exec > >(tee "$out/device-log.txt") 2>&1
  echo "== machine"; uname -a; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  unpack() { python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
  unpack "$DIR/node.xz" "$bin/node" && chmod +x "$bin/node"
  unpack "$DIR/dawn.node.xz" "$bin/dawn.node"
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    echo "== no libvulkan.so.1: unpacking the carried loaders"
    for f in "$DIR"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local icd
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; break; fi
  done
  export XDG_RUNTIME_DIR=/tmp __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  echo "== vulkan: $(ldconfig -p | grep -E 'libvulkan.so.1|libGLX_nvidia' | tr -s ' ' | tr '\n' ';') icd=${VK_DRIVER_FILES:-none}"
  "$bin/node" --version
  echo "== Dawn's adapter per backend"
  local backend
  for backend in vulkan opengl; do
    timeout 60 "$bin/node" -e "
      const { create } = require('$bin/dawn.node');
      create(['backend=$backend']).requestAdapter({ featureLevel: '$([ $backend = vulkan ] && echo core || echo compatibility)' })
        .then((a) => console.log('$backend:', a ? [a.info.vendor, a.info.architecture, a.info.device, a.info.description].join(' | ') : null), (e) => console.log('$backend:', String(e)))
        .finally(() => process.exit(0));
    " 2>&1 | grep -v maxDynamic || true
  done
  echo "== check"
  timeout "${CHECK_TIMEOUT_S:-270}" "$bin/node" --max-old-space-size=16384 "$DIR/webgpu-check.mjs" --backend webgpu --dawn "$bin/dawn.node" \
    --full --reference "$DIR/cpu-reference.json" --budget-s "${BUDGET_S:-240}" --out "$out/webgpu-check.json" "$@" && return
  # No Vulkan adapter: Dawn's OpenGL backend (compatibility mode) through the driver's EGL, for the record.
  if grep -q '"activeBackend": ""' "$out/webgpu-check.json" 2>/dev/null; then
    echo "== check again on Dawn's OpenGL backend"
    timeout 120 "$bin/node" "$DIR/webgpu-check.mjs" --backend webgpu --dawn "$bin/dawn.node" --dawn-flag backend=opengl --compat \
      --reference "$DIR/cpu-reference.json" --budget-s 100 --out "$out/webgpu-check-opengl.json" "$@"
  fi
}

case "${1:-}" in
  prepare) prepare ;;
  bundle) bundle ;;
  remote) shift; remote "$@" ;;
  local) shift; local_run "$@" ;;
  *) echo "usage: $0 prepare|bundle|remote|local [check options]" >&2; exit 2 ;;
esac
