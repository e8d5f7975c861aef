#!/bin/sh
# A git pre-commit hook: refuses a commit that touches files another agent has reserved (abq reserve),
# naming each file, who reserved it, until when and why. Install it in a repository with
#   cp "$(abq handlers --path)/pre-commit-reserve.sh" .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
# Set ABQ to run abq some other way (ABQ="node /path/to/dist/bin/abq.js"); `git commit --no-verify` skips it.
if [ -z "${ABQ:-}" ] && ! command -v abq >/dev/null 2>&1; then
  echo "pre-commit: abq is not on PATH: reservations not checked" >&2
  exit 0
fi
# Exit 7: a staged file is under another agent's exclusive reservation; any other failure also stops the commit.
exec ${ABQ:-abq} reserve check --staged
