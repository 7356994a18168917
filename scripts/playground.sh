#!/usr/bin/env bash
# Files a whole report through Microsoft 365 Agents Playground (Microsoft's Teams emulator) in
# headless Chromium: the bot in development mode, the Playground with a mock leadership team
# (scripts/playground.yml), the report answered card by card (scripts/playground.cjs), then the
# case card in the leadership channel. Screenshots go to OUT_DIR.
#
#   scripts/playground.sh [OUT_DIR]          (default: ./playground-shots)
#   KEEP=1 scripts/playground.sh ...         keep the scratch folder (logs, data) for a look
#
# Needs the project's .venv, Node.js 20 with npm, and Debian's chromium (apt-get install
# chromium). The Playground and playwright-core are installed from npm into a scratch folder,
# never into the repository. Everything listens on localhost only; both servers are stopped at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$(mkdir -p "${1:-playground-shots}" && cd "${1:-playground-shots}" && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # URL: until it answers, at most 2 minutes
  for _ in $(seq 240); do curl -s -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "nothing answered at $1" >&2
  return 1
}

echo "installing the Playground and playwright-core in $work (npm)"
npm install --prefix "$work/node" --no-audit --no-fund --silent \
  @microsoft/m365agentsplayground@0.2.28 playwright-core@1 >/dev/null

# The Playground opens a browser when it starts, and stops if it cannot.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/xdg-open"
chmod +x "$work/bin/xdg-open"

REPORTBOT_TEAMS_DEV=1 REPORTBOT_DATA_DIR="$work/data" PORT=3978 \
  "$root/.venv/bin/reportbot" serve >"$work/bot.log" 2>&1 </dev/null &
pids+=($!)
wait_for http://localhost:3978/healthz

cp "$root/scripts/playground.yml" "$work/.m365agentsplayground.yml"
(cd "$work" && PATH="$work/bin:$PATH" exec node \
  "$work/node/node_modules/@microsoft/m365agentsplayground/cli.js" \
  -e http://localhost:3978/api/messages -c msteams --disable-telemetry) \
  >"$work/playground.log" 2>&1 </dev/null &
pids+=($!)
wait_for http://localhost:56150

if ! NODE_PATH="$work/node/node_modules" node "$root/scripts/playground.cjs" "$out"; then
  echo "--- the bot's log (the Playground's is $work/playground.log with KEEP=1):" >&2
  tail -n 40 "$work/bot.log" >&2
  exit 1
fi
