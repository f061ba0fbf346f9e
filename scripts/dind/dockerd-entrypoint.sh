#!/bin/sh
# The local dind image's entrypoint (scripts/images dind), a stand-in for the official
# docker:27-dind's dockerd-entrypoint.sh for the command line the chart gives it:
#
#   dockerd-entrypoint.sh dockerd --host=unix:///run/slipway-dind/docker.sock --group=... ...
#
# As the official one: arguments starting with "-" are dockerd's; a leading "dockerd" is dropped
# and dockerd runs with the rest, after what its `dind` script does in a privileged container
# (securityfs, a tmpfs /tmp, cgroup v2 nesting); TLS is off (no certificates are made); with no
# --host, dockerd listens on unix:///var/run/docker.sock. Anything else runs as given.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dockerd "$@"
fi
if [ "$1" != dockerd ]; then
  exec "$@"
fi
shift

case " $* " in
  *" --host="* | *" -H "* | *" --host "* | *" -H="*) ;;
  *) set -- --host=unix:///var/run/docker.sock "$@" ;;
esac

export container=docker

# busybox has no mountpoint(1).
mounted() { grep -q "^[^ ]* $1 " /proc/self/mounts; }

# AppArmor and other LSMs look for securityfs.
if [ -d /sys/kernel/security ] && ! mounted /sys/kernel/security; then
  mount -t securityfs none /sys/kernel/security || echo >&2 'dind: could not mount /sys/kernel/security (AppArmor detection may fail)'
fi

# dockerd and containerd keep temporary files in /tmp: a tmpfs, as the official image has.
if ! mounted /tmp; then
  mount -t tmpfs none /tmp
fi

# cgroup v2: move this container's processes out of the root group (writing subtree_control
# fails with EBUSY while it has processes) and enable every controller for the daemon's
# containers. cgroup v1 needs nothing: a privileged container has its hierarchies writable.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control
fi

# iptables: nftables when this kernel lets the container use it, else the legacy tables (as
# the official image chooses).
if ! iptables-nft -nL >/dev/null 2>&1 && iptables-legacy -nL >/dev/null 2>&1; then
  mkdir -p /usr/local/sbin
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf "/usr/sbin/${t%%-*}-legacy${t#"${t%%-*}"}" "/usr/local/sbin/$t"
  done
fi

exec dockerd "$@"
