#!/usr/bin/env bash
# How many messages a second `prepull top` keeps up with, beside the broker's own client.
#   [ROUNDS=K (5)] [MESSAGES=N (80000)] [PUBLISHERS=P (4)] bench/top/top.sh
# One mosquitto (broker/mosquitto-fleet.conf). In each of K paired rounds, P `mosquitto_pub -l`
# processes publish N progress reports in all (a real envelope, 436 bytes, on status topics of
# 1,000 nodes) as fast as the broker takes them, twice: once to `mosquitto_sub -C N` (libmosquitto's
# own client, printing nothing: the baseline, what the broker delivers), once to `prepull top --json`
# (which decodes every report and keeps its per-node figures). Each time: publish start -> the
# subscriber has counted N (top: its progress total). The broker's queue (max_queued_messages
# 1,000,000) holds the burst, so a subscriber that falls behind is slower, not lossy; the $SYS
# dropped count is printed to show it. Reports the median rate of each and of their ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-5}
messages=${MESSAGES:-80000}
publishers=${PUBLISHERS:-4}
cd "$root"
config=${CONFIG:-release}
if [[ -z ${PREPULL_BIN:-} ]]; then swift build -c "$config" --product prepull >/dev/null; fi
bin=${PREPULL_BIN:-$(swift build -c "$config" --show-bin-path)/prepull}
work=$(mktemp -d -t prepull-top.XXXXXX)
pids=()
source bench/lib.sh
trap cleanup EXIT

start_broker "$work/broker"

# P files of N/P lines: progress envelopes, each on its own node's status topic (mosquitto_pub -l
# publishes every line of a file to one topic: one file per publisher, nodes spread over files).
per=$((messages / publishers))
messages=$((per * publishers))
python3 - "$work" "$publishers" "$per" <<'PY'
import json, sys
work, publishers, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for p in range(publishers):
    node = f"edge-{p}"
    with open(f"{work}/pub-{p}.txt", "w") as f:
        for i in range(per):
            f.write(json.dumps({
                "content": {"body": {"images": [{"bytesDone": i * 1000, "bytesTotal": 104857600, "image": "registry.local/app:1"},
                                                {"bytesDone": 0, "bytesTotal": 52428800, "image": "registry.local/app:2"}]},
                            "jobName": "bench", "jobUID": "6f1c2a9e-8d0b-4b7e-9a51-0c3f4e2d1a77", "nodeName": node, "seq": i + 1},
                "header": {"id": f"m-{p}-{i}", "timestamp": 1795593600000 + i, "version": "prepull.v1"},
                "route": {"group": "prepull", "operation": "progress", "resource": f"node/{node}/prepull/bench", "source": "edge"},
            }, separators=(",", ":"), sort_keys=True) + "\n")
PY
topic() { echo "\$hw/events/node/edge-$1/prepull/bench/status"; }
publish() {
    local ppids=() p
    for p in $(seq 0 $((publishers - 1))); do
        mosquitto_pub -p "$port" -q 0 -l -t "$(topic "$p")" < "$work/pub-$p.txt" & ppids+=($!)
    done
    wait "${ppids[@]}"
}
dropped() { mosquitto_sub -p "$port" -t '$SYS/broker/publish/messages/dropped' -C 1 -W 5 2>/dev/null || echo "?"; }

echo "prepull top vs mosquitto_sub: $messages progress reports from $publishers publishers, $rounds paired rounds"
sub_rates=(); top_rates=(); ratios=()
for round in $(seq 1 "$rounds"); do
    # Baseline: libmosquitto's subscriber.
    mosquitto_sub -p "$port" -q 1 -t '$hw/events/node/+/prepull/+/status' -C "$messages" > /dev/null & sub=$!
    sleep 0.5
    t0=$(now); publish; wait "$sub"; t1=$(now)
    sub_s=$(echo "$t1 - $t0" | bc)

    # prepull top, counting the progress class.
    "$bin" top --broker "mqtt://127.0.0.1:$port" --json --interval 0.05 > "$work/top-$round.jsonl" 2>&1 & top=$!; pids+=($top)
    until_true 10 test -s "$work/top-$round.jsonl"
    progress() { tail -1 "$work/top-$round.jsonl" | jq -r '[.topics[] | select(.class == "progress") | .seen.total.messages // 0][0]'; }
    t0=$(now); publish
    until_true 120 bash -c "[[ \$(tail -1 '$work/top-$round.jsonl' | jq -r '[.topics[] | select(.class == \"progress\") | .seen.total.messages // 0][0]') -ge $messages ]]"
    t1=$(now)
    kill "$top"; wait "$top" 2>/dev/null || true
    top_s=$(echo "$t1 - $t0" | bc)
    sub_rate=$(echo "scale=0; $messages / $sub_s" | bc); top_rate=$(echo "scale=0; $messages / $top_s" | bc)
    ratio=$(echo "scale=3; $top_s / $sub_s" | bc)
    sub_rates+=("$sub_rate"); top_rates+=("$top_rate"); ratios+=("$ratio")
    printf '  round %d: mosquitto_sub %.2f s (%d msg/s) | prepull top %.2f s (%d msg/s) | time ratio %.2f | broker dropped so far %s\n' \
        "$round" "$sub_s" "$sub_rate" "$top_s" "$top_rate" "$ratio" "$(dropped)"
done
printf '  median: mosquitto_sub %.0f msg/s, prepull top %.0f msg/s, time ratio (top / mosquitto_sub) %.2f\n' \
    "$(median "${sub_rates[@]}")" "$(median "${top_rates[@]}")" "$(median "${ratios[@]}")"
