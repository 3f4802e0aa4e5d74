#!/bin/bash
# Before/after of two builds, interleaved (issue #17: 70bba4b, before the broker-core split, against main).
# Build the old one with: git worktree add /tmp/old COMMIT && (cd /tmp/old && make build).
# Each round: fresh data dir, serve, our client's bench produce+consume (each binary's own client),
# then kcat produce of 1M×100 B and kcat consume of them. Prints one JSON line per measurement.
set -u
OLD=${1:?usage: bench/before-after.sh OLD_BINARY NEW_BINARY}; NEW=${2:?usage: bench/before-after.sh OLD_BINARY NEW_BINARY}
N=${N:-1000000}; ROUNDS=${ROUNDS:-3}
[ -f ${TMPDIR:-/tmp}/before-after-$N.in ] || python3 -c "
import sys
v='x'*100
sys.stdout.write(''.join(f'{v}\n' for _ in range($N)))" > ${TMPDIR:-/tmp}/before-after-$N.in
run() { # name bin
  local name=$1 bin=$2 dir=$(mktemp -d) port=$((19000 + RANDOM % 1000))
  $bin serve --data-dir $dir --kafka-listen 127.0.0.1:$port --http-listen 127.0.0.1:$((port + 1000)) > $dir.log 2>&1 &
  local pid=$!
  for i in $(seq 100); do grep -q ready $dir.log && break; sleep 0.1; done
  local p=$($bin bench produce --broker 127.0.0.1:$port --topic ours --records $N --json 2>/dev/null)
  local c=$($bin bench consume --broker 127.0.0.1:$port --topic ours --records $N --json 2>/dev/null)
  local t0=$(date +%s.%N)
  kcat -P -b 127.0.0.1:$port -t kc -X linger.ms=5 -X batch.size=1000000 -l ${TMPDIR:-/tmp}/before-after-$N.in
  local t1=$(date +%s.%N)
  kcat -C -b 127.0.0.1:$port -t kc -o beginning -e -q -X fetch.max.bytes=52428800 > /dev/null
  local t2=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null
  echo "{\"bin\":\"$name\",\"ourProduce\":$(echo $p | jq .recordsPerSec),\"ourConsume\":$(echo $c | jq .recordsPerSec),\"kcatProduce\":$(echo "$N/($t1-$t0)" | bc -l | cut -d. -f1),\"kcatConsume\":$(echo "$N/($t2-$t1)" | bc -l | cut -d. -f1)}"
  rm -rf $dir $dir.log
}
for r in $(seq $ROUNDS); do
  if [ $((r % 2)) = 1 ]; then run old $OLD; run new $NEW; else run new $NEW; run old $OLD; fi
done
