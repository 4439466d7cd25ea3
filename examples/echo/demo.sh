#!/bin/sh
# The README's demo, the seed's walkthrough in svrkit: start the echo service as a
# daemon, show its process tree, call echo("testtest") through the generated client,
# stop it, and check that nothing is left running.
#   bazel run //examples/echo:demo
# Arguments (filled in by the BUILD file): control script, echo_call, echo_cli.conf.
set -eu
ctl=$1
call=$2
cli_conf=$3

pids() { pgrep -f '^echo_svr' 2>/dev/null || true; }

stopped=0
cleanup() {
	[ "$stopped" = 1 ] || "$ctl" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

echo '$ ./echo start'
"$ctl" start

echo
echo '$ ps -o pid,ppid,args (the echo_svr process tree)'
ps -o pid,ppid,args -p "$(pids | tr '\n' ',' | sed 's/,$//')" | sed 's/ -f .*//'

echo
echo '$ ./echo status'
"$ctl" status

echo
echo '$ echo_call -f echo_cli.conf testtest'
"$call" -f "$cli_conf" testtest

echo
echo '$ ./echo stop'
"$ctl" stop
stopped=1

left=$(pids)
if [ -n "$left" ]; then
	echo "demo: processes left after stop: $left" >&2
	exit 1
fi
echo
echo 'demo: ok (nothing left running)'
