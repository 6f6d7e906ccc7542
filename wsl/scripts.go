package wsl

// Guest-side programs. They run with "wsl.exe --exec /bin/sh -c SCRIPT sh
// ARGS...": the script is a constant and every variable part is a
// positional argument, so nothing from the caller is parsed by a shell.

// scriptWriteFile writes stdin to $1 with mode $2 atomically: a
// temporary file in the same directory renamed over the target, so a
// running agent binary is replaced, never rewritten in place.
const scriptWriteFile = `set -e
umask 077
mkdir -p "${1%/*}"
cat > "$1.tmp"
chmod "$2" "$1.tmp"
mv -f "$1.tmp" "$1"`

// scriptFreeze sends $1 (STOP or CONT) to the guest: the agent's
// supervisor and all its descendants (the agent, openvpn, shells, exec'd
// programs). WSL's own processes in the distribution (its init, session
// leaders and relays, the 9P server) are left alone, whatever their
// names: stopping them would stall every wsl.exe attached, this one
// included. It loops until a round finds nothing left to stop, so
// children forked during a round are caught, and uses shell builtins
// only. With $2 = "check" it prints "frozen" when the tree exists and
// every process of it is stopped (state T), "running" otherwise.
//
// Why signals and not the cgroup v2 freezer: a distribution's processes
// share the cgroup of WSL's init for the distribution, relays included,
// and whether root in a distribution may create child cgroups is not
// documented. SIGSTOP needs nothing but the PID namespace every
// distribution has. openvpn's ping-restart heals a long pause.
const scriptFreeze = `self=$$
# "pid ppid state comm" of every process; comm may hold spaces.
procs() {
	for d in /proc/[0-9]*; do
		read -r l < "$d/stat" 2>/dev/null || continue
		c=${l#*(}; c=${c%)*}; r=${l##*) }
		set -- $r
		echo "${l%% *} $2 $1 $c"
	done
}
# guest prints the pids of the agent supervisor's tree.
guest() {
	all=$(procs)
	tree=" "
	while :; do
		more=0
		while read -r p pp st c; do
			[ "$p" = "$self" ] && continue
			case "$tree" in *" $p "*) continue;; esac
			case "$tree" in *" $pp "*) ;; *) [ "$c" = microvm-agent ] || continue;; esac
			tree="$tree$p "; more=1
		done <<EOF
$all
EOF
		[ $more = 0 ] && break
	done
	echo $tree
}
state() { read -r l < "/proc/$1/stat" || return 1; l=${l##*) }; echo "${l%% *}"; }
if [ "$2" = check ]; then
	n=0
	for p in $(guest); do
		s=$(state "$p") || continue
		[ "$s" = Z ] && continue
		[ "$s" = T ] || [ "$s" = t ] || { echo running; exit 0; }
		n=$((n+1))
	done
	[ $n -gt 0 ] && echo frozen || echo running
	exit 0
fi
if [ "$1" = CONT ]; then
	for p in $(guest); do kill -CONT "$p" 2>/dev/null; done
	exit 0
fi
i=0
while [ $i -lt 20 ]; do
	more=0
	for p in $(guest); do
		s=$(state "$p") || continue
		[ "$s" = T ] || [ "$s" = t ] || [ "$s" = Z ] && continue
		kill -STOP "$p" 2>/dev/null && more=1
	done
	[ $more = 0 ] && exit 0
	i=$((i+1))
done
echo "processes kept appearing while freezing" >&2
exit 1`

// scriptClock sets the guest clock to the host's time $1 (Unix seconds)
// when they differ by more than $2 seconds. A WSL2 guest's clock falls
// behind while Windows sleeps and TLS (OpenVPN included) then fails;
// "hwclock -s" has no RTC to read in WSL, so the host's time is pushed
// in. A clock already right is left alone.
const scriptClock = `now=$(date -u +%s) || exit 1
d=$((now - $1))
[ $d -lt 0 ] && d=$((-d))
[ $d -le "$2" ] && exit 0
date -u -s "@$1" >/dev/null`
