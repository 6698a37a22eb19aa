#!/usr/bin/env bash
# Brings up a real single-node Slurm on this machine (Debian's slurm 22.05 + munge), as
# ../shared/notes/slurm.md describes: used by the Slurm backend's test and by CI.
#   sudo bash scripts/slurm-up.sh        # idempotent: a running, idle Slurm is left as it is
#   sudo bash scripts/slurm-down.sh      # stops the daemons (by their pid files)
# Needs root (slurmd must run as root). Prints `slurm-up: ready` when a job can run.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "slurm-up: must run as root" >&2; exit 1; }
# Up and down never run at once. The daemons must not inherit this lock: 9>&- below.
exec 9>/run/clipbench-slurm.lock
flock -w 120 9

host=$(hostname -s)
conf=/etc/slurm/slurm.conf

ready() {
  scontrol ping 2>/dev/null | grep -q 'is UP' &&
    sinfo -h -n "$host" -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated|completing)'
}

if command -v scontrol >/dev/null 2>&1 && [ -f "$conf" ] && ready; then
  echo "slurm-up: already up"
  echo "slurm-up: ready"
  exit 0
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 ||
   ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "slurm-up: installing slurmctld slurmd slurm-client munge (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# munge: the key comes with the package; make one if it is missing.
if [ ! -s /etc/munge/munge.key ]; then
  install -d -o munge -g munge -m 0700 /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  su -s /bin/sh munge -c '/usr/sbin/munged --force' 9>&-
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
munge -n | unmunge >/dev/null || { echo "slurm-up: munge does not work" >&2; exit 1; }

# slurm.conf: the notes' minimal config, with this machine's hardware line from slurmd -C.
hw=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
install -d /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
cat >"$conf.tmp" <<CONF
# Written by clipbench scripts/slurm-up.sh (single-node test cluster).
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mv "$conf.tmp" "$conf"

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if ! running /run/slurmctld.pid; then
  slurmctld 9>&-
fi
for _ in $(seq 100); do
  scontrol ping 2>/dev/null | grep -q 'is UP' && break
  sleep 0.2
done
if ! running /run/slurmd.pid; then
  slurmd 9>&-
fi

for _ in $(seq 150); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  case "$state" in
    idle* | mixed* | allocated* | completing*)
      echo "slurm-up: ready ($(sinfo -h -o '%P %D nodes %c cpus %T'))"
      exit 0 ;;
    drain* | down* | fail*)
      scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.2
done
echo "slurm-up: the node did not become idle; state: ${state:-none}" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
