#!/usr/bin/env bash
# Bring up a real one-node SLURM cluster on this machine for tests (Debian's slurm 22.05 + munge).
# Runs as root without systemd; writes its state and logs under $SLURM_TEST_STATE and records the
# PIDs it started there, so that slurm-down.sh stops exactly those processes.
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/tmp/tunebench-slurm}
mkdir -p "$STATE"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge \
        >"$STATE/apt.log" 2>&1 || { cat "$STATE/apt.log"; exit 1; }
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048))

# munge: the Debian package creates the key; munged runs as the munge user.
mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null ||
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid
    cat /run/munge/munged.pid >"$STATE/munged.pid"
fi

mkdir -p /etc/slurm "$STATE/ctld" "$STATE/spool"
# A fake GPU: one device file per GPU (two GPUs on one file is fatal to slurmd).
touch "$STATE/gpu0"
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=tunebench
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=600
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
cat >/etc/slurm/gres.conf <<CONF
AutoDetect=off
NodeName=$host Name=gpu File=$STATE/gpu0
CONF

slurmctld -c -i
slurmd -c

for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
        sinfo
        exit 0
    fi
    sleep 1
done
echo "slurm-up: the node did not become idle; logs:" >&2
tail -n 30 "$STATE"/slurmctld.log "$STATE"/slurmd.log >&2 || true
exit 1
