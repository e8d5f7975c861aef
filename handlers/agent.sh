#!/bin/sh
# Hand each message to an agent CLI as its prompt; the agent's output becomes the answer.
#   abq watch reviews --handler handlers/agent.sh
# ABQ_AGENT_CMD picks the agent (default: `claude -p`, Claude Code's non-interactive mode). Examples:
#   ABQ_AGENT_CMD="claude -p"  ABQ_AGENT_CMD="codex exec"  ABQ_AGENT_CMD="aider --message"
# The prompt is the message content, passed as the last argument; the message file is $1 if the agent
# should look at the whole message. A timeout (abq watch --timeout) ends the agent and its children.
set -eu
content_file=$1
prompt=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).content)' "$content_file")
# shellcheck disable=SC2086  # ABQ_AGENT_CMD is a command line on purpose
exec ${ABQ_AGENT_CMD:-claude -p} "$prompt"
