#!/usr/bin/env bash
# Launches Chromium as one emulated phone for `npm run bench` (bench/emulation.ts): first joins
# the CPU cgroup named by MODNN_BENCH_CGROUP (a directory under /sys/fs/cgroup/cpu; every process
# Chromium starts inherits it), then, when MODNN_BENCH_NETNS names one, enters that network
# namespace. `exec` keeps the PID Playwright knows, so closing or killing the browser still works.
set -euo pipefail
chromium="${MODNN_BENCH_CHROMIUM:-/usr/lib/chromium/chromium}"
if [ -n "${MODNN_BENCH_CGROUP:-}" ]; then
  echo $$ > "$MODNN_BENCH_CGROUP/cgroup.procs"
fi
if [ -n "${MODNN_BENCH_NETNS:-}" ]; then
  exec nsenter --net="/run/netns/$MODNN_BENCH_NETNS" -- "$chromium" "$@"
fi
exec "$chromium" "$@"
