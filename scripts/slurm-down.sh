#!/usr/bin/env bash
# Stops the single-node Slurm of scripts/slurm-up.sh: TERM to the PIDs in the daemons' pid
# files (never by process name), then waits for them to exit. Idempotent. Run as root.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "slurm-down: must run as root" >&2; exit 1; }
exec 9>/run/clipbench-slurm.lock
flock -w 120 9

stop() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { echo "slurm-down: pid $pid ($pidfile) still running" >&2; return 1; }
  fi
  rm -f "$pidfile"
}

stop /run/slurmd.pid
stop /run/slurmctld.pid
stop /run/munge/munged.pid
echo "slurm-down: stopped"
