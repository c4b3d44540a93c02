#!/usr/bin/env bash
# Starts the Redis topologies the topology suites run on, from the machine's redis-server (7.0+):
#   - a Redis Cluster: 3 masters + 3 replicas on 127.0.0.1:7000-7005
#   - a Sentinel set: master 127.0.0.1:7100, replica :7101, 3 Sentinels on :26379-26381
# in a temporary folder ($REDIS_TOPOLOGIES_DIR, default $TMPDIR/dash-redis-topologies). Idempotent:
# what already answers is reused; a half-made cluster is wiped and made again. Each server's folder
# holds a start.sh, so a test that kills a server can start it again as it was.
# Prints the variables to export last, one a line:
#   TEST_REDIS_CLUSTER_NODES=… TEST_REDIS_SENTINELS=… TEST_REDIS_SENTINEL_MASTER=…
# `scripts/redis-topologies.sh stop` stops them all and removes the folder.
set -euo pipefail

DIR=${REDIS_TOPOLOGIES_DIR:-${TMPDIR:-/tmp}/dash-redis-topologies}
CLUSTER_PORTS=(7000 7001 7002 7003 7004 7005)
SENTINEL_DATA_PORTS=(7100 7101)
SENTINEL_PORTS=(26379 26380 26381)
MASTER_NAME=dash-master

ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }
wait_for() { for _ in $(seq 1 50); do ping "$1" && return 0; sleep 0.1; done; echo "redis on port $1 did not start (see $DIR/$1/log)" >&2; return 1; }
stop_port() { redis-cli -h 127.0.0.1 -p "$1" shutdown nosave >/dev/null 2>&1 || true; }

# Writes a server's start.sh and runs it. Servers keep AOF on (as docs/deploy.md asks) and never evict.
start_server() {
  local port=$1
  shift
  mkdir -p "$DIR/$port"
  cat >"$DIR/$port/start.sh" <<EOF
#!/usr/bin/env bash
cd "$DIR/$port" && exec redis-server --port $port --bind 127.0.0.1 --dir "$DIR/$port" --daemonize yes --pidfile "$DIR/$port/pid" --logfile "$DIR/$port/log" --save "" --appendonly yes --maxmemory-policy noeviction $*
EOF
  chmod +x "$DIR/$port/start.sh"
  "$DIR/$port/start.sh"
  wait_for "$port"
}

if [ "${1:-}" = stop ]; then
  for port in "${CLUSTER_PORTS[@]}" "${SENTINEL_DATA_PORTS[@]}" "${SENTINEL_PORTS[@]}"; do stop_port "$port"; done
  rm -rf "$DIR"
  exit 0
fi

mkdir -p "$DIR"

# --- Redis Cluster ---------------------------------------------------------------------------------
cluster_ok() {
  local info
  info=$(redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null) || return 1
  grep -q 'cluster_state:ok' <<<"$info" && grep -q "cluster_known_nodes:${#CLUSTER_PORTS[@]}" <<<"$info"
}
healthy=yes
for port in "${CLUSTER_PORTS[@]}"; do cluster_ok "$port" || healthy=no; done
if [ $healthy = no ]; then
  echo "starting a Redis Cluster on ports ${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]} in $DIR" >&2
  for port in "${CLUSTER_PORTS[@]}"; do stop_port "$port"; rm -rf "${DIR:?}/$port"; done
  for port in "${CLUSTER_PORTS[@]}"; do
    # A short node timeout so a failover takes seconds; a replica may always take over.
    start_server "$port" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 --cluster-replica-validity-factor 0
  done
  nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/cluster-create.log" 2>&1
  for _ in $(seq 1 100); do
    all=yes
    for port in "${CLUSTER_PORTS[@]}"; do cluster_ok "$port" || all=no; done
    [ $all = yes ] && break
    sleep 0.2
  done
  [ $all = yes ] || { echo "the Redis Cluster did not come up (see $DIR/cluster-create.log)" >&2; exit 1; }
fi

# --- Sentinel --------------------------------------------------------------------------------------
sentinel_ok() { redis-cli -h 127.0.0.1 -p "$1" sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | grep -q 127.0.0.1; }
healthy=yes
for port in "${SENTINEL_PORTS[@]}"; do sentinel_ok "$port" || healthy=no; done
for port in "${SENTINEL_DATA_PORTS[@]}"; do ping "$port" || healthy=no; done
if [ $healthy = no ]; then
  echo "starting a Sentinel set (master ${SENTINEL_DATA_PORTS[0]}, replica ${SENTINEL_DATA_PORTS[1]}, sentinels ${SENTINEL_PORTS[*]}) in $DIR" >&2
  for port in "${SENTINEL_PORTS[@]}" "${SENTINEL_DATA_PORTS[@]}"; do stop_port "$port"; rm -rf "${DIR:?}/$port"; done
  start_server "${SENTINEL_DATA_PORTS[0]}"
  start_server "${SENTINEL_DATA_PORTS[1]}" --replicaof 127.0.0.1 "${SENTINEL_DATA_PORTS[0]}"
  for port in "${SENTINEL_PORTS[@]}"; do
    mkdir -p "$DIR/$port"
    # Sentinel rewrites its configuration file with what it learns: it must be its own, writable.
    cat >"$DIR/$port/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
dir $DIR/$port
daemonize yes
pidfile $DIR/$port/pid
logfile $DIR/$port/log
sentinel monitor $MASTER_NAME 127.0.0.1 ${SENTINEL_DATA_PORTS[0]} 2
sentinel down-after-milliseconds $MASTER_NAME 2000
sentinel failover-timeout $MASTER_NAME 10000
sentinel parallel-syncs $MASTER_NAME 1
EOF
    cat >"$DIR/$port/start.sh" <<EOF
#!/usr/bin/env bash
exec redis-server "$DIR/$port/sentinel.conf" --sentinel
EOF
    chmod +x "$DIR/$port/start.sh"
    "$DIR/$port/start.sh"
    wait_for "$port"
  done
  for _ in $(seq 1 100); do
    all=yes
    for port in "${SENTINEL_PORTS[@]}"; do sentinel_ok "$port" || all=no; done
    [ $all = yes ] && break
    sleep 0.2
  done
  [ $all = yes ] || { echo "the Sentinels did not find the master (see $DIR/${SENTINEL_PORTS[0]}/log)" >&2; exit 1; }
fi

join() { local IFS=,; echo "$*"; }
cluster_urls=()
for port in "${CLUSTER_PORTS[@]}"; do cluster_urls+=("redis://127.0.0.1:$port"); done
sentinel_urls=()
for port in "${SENTINEL_PORTS[@]}"; do sentinel_urls+=("redis://127.0.0.1:$port"); done
echo "TEST_REDIS_TOPOLOGIES_DIR=$DIR"
echo "TEST_REDIS_CLUSTER_NODES=$(join "${cluster_urls[@]}")"
echo "TEST_REDIS_SENTINELS=$(join "${sentinel_urls[@]}")"
echo "TEST_REDIS_SENTINEL_MASTER=$MASTER_NAME"
