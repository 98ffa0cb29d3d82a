#!/bin/sh
# For `go build -toolexec`: records the parent go command and the names (never the values) of the
# variables a tool run by go sees, into $ENVPROBE_OUT/toolexec-<pid>.txt, then runs the tool.
if [ -n "$ENVPROBE_OUT" ]; then
  { tr '\0' ' ' < /proc/$PPID/cmdline; echo; env | cut -d= -f1; } > "$ENVPROBE_OUT/toolexec-$$.txt"
fi
exec "$@"
