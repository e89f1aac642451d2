#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the Slurm integration test (tests/test_slurm.py).
#   scripts/slurm-single-node.sh start   # install slurm-wlm + munge (Debian, as root) if missing, start daemons
#   scripts/slurm-single-node.sh stop    # stop the daemons started by `start`
# The recipe: munge key owned by munge, slurm.conf with linuxproc/none
# plugins (no cgroups, no systemd), one node with all CPUs, one default partition.
set -euo pipefail
STATE=/var/lib/factordiff-slurm
cmd=${1:-start}

stop() {
  for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" /run/munge/munged.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge "$STATE/spool" "$STATE/ctld" /etc/slurm
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /run/munge /var/lib/munge
chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then runuser -u munge -- /usr/sbin/munged; fi

host=$(hostname)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') - 1024 ))
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=factordiff
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 1 30); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then echo "slurm ready on $host ($cpus CPUs)"; exit 0; fi
  sleep 1
done
echo "slurm did not come up; see $STATE/*.log" >&2
exit 1
