#!/bin/sh
# Dispatcher on message type, in plain sh (no jq): one branch per type.
#   abq watch ops --handler handlers/dispatch.sh
# Exit 0 answers `success` with stdout; exit 75 asks for another attempt; anything else answers `error`
# with stderr.
case "$ABQ_MSG_TYPE" in
  signal)
    # A notification: acknowledge it.
    echo "noted signal from $ABQ_MSG_FROM"
    ;;
  status)
    echo "ok: $(hostname) up, load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    ;;
  command)
    # The content is a shell command. Only run this on a channel you trust (see README: security).
    sh -c "$ABQ_MSG_CONTENT"
    ;;
  eval)
    echo "eval is not enabled on this worker" >&2
    exit 1
    ;;
  *)
    echo "unknown message type: $ABQ_MSG_TYPE" >&2
    exit 1
    ;;
esac
