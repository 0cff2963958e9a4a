#!/usr/bin/env bash
# Prints the core broker's ACL block for the bridge of one region (append it to broker/acl-core):
#   broker/bridge-acl.sh REGION [NODE...]
# Without nodes the region's bridge may carry every node's tasks down and every node's reports up
# (its regional broker's per-node ACL still keeps each node to its own topics). With the region's
# node names, it may only carry theirs: tasks, which can hold registry credentials, then never
# leave for another region, and a region cannot speak for another region's nodes (one line per
# node and direction: mosquitto checks a user's lines in turn, so a very large region costs CPU).
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 REGION [NODE...]" >&2; exit 2; }
region=$1; shift
[[ $region =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || { echo "bridge-acl.sh: '$region' is not a DNS-1123 label" >&2; exit 2; }
echo "user bridge-$region"
if [[ $# -eq 0 ]]; then
    echo "topic read fleet/events/node/+/prepull/+/task"
    echo "topic write fleet/events/node/+/prepull/+/status"
    echo "topic write fleet/events/node/+/presence"
else
    for node in "$@"; do
        echo "topic read fleet/events/node/$node/prepull/+/task"
        echo "topic write fleet/events/node/$node/prepull/+/status"
        echo "topic write fleet/events/node/$node/presence"
    done
fi
echo "topic read fleet/events/prepull/jobs/+/status"
