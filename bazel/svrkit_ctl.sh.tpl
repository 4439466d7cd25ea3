#!/bin/sh
# The generated control script of a svrkit_service, run from Bazel's runfiles:
#   bazel run //pkg:<name>_ctl -- start|stop|restart|status
# It points the script at the service binary and conf in the runfiles tree;
# SVRKIT_SVR_BIN and SVRKIT_SVR_CONF (absolute paths) override them.
svr='@SVR@'
conf='@CONF@'
script='@SCRIPT@'
root=
for d in "$PWD" "${RUNFILES_DIR:-}" "$0.runfiles"/*; do
	if [ -n "$d" ] && [ -f "$d/$script" ]; then
		root=$d
		break
	fi
done
if [ -z "$root" ]; then
	echo "$0: cannot find the runfiles tree holding $script (run it with bazel run)" >&2
	exit 1
fi
SVRKIT_SVR_BIN=${SVRKIT_SVR_BIN:-$root/$svr}
SVRKIT_SVR_CONF=${SVRKIT_SVR_CONF:-$root/$conf}
export SVRKIT_SVR_BIN SVRKIT_SVR_CONF
exec sh "$root/$script" "$@"
