#!/bin/sh
# Echo handler: answers every message with its own content.
#   abq watch jobs --handler handlers/echo.sh
# $1 is the claimed message file; the message JSON is also on stdin; ABQ_MSG_* describe it.
# Small contents are in $ABQ_MSG_CONTENT; for any size, take .content from the file in $1.
if [ -n "${ABQ_MSG_CONTENT+set}" ]; then
  printf '%s' "$ABQ_MSG_CONTENT"
else
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).content)' "$1"
fi
