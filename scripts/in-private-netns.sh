#!/usr/bin/env bash
# Runs a command (an npm bin such as `playwright test`) inside a private network namespace that
# has only the loopback interface, so browser tests cannot reach any other address: WebRTC can
# only gather 127.0.0.1 candidates and nothing leaves the machine. Needs root (CI, this dev box);
# elsewhere (a developer laptop) the command runs as is, and the tests' own loopback-only
# settings still apply.
set -euo pipefail
if [ "${MODNN_IN_NETNS:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
  && unshare --net true 2>/dev/null; then
  exec unshare --net -- env MODNN_IN_NETNS=1 bash -c 'ip link set lo up && exec npx --no-install "$@"' bash "$@"
fi
exec npx --no-install "$@"
