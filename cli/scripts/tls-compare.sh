#!/usr/bin/env bash
# TLS against plaintext, same run: 3 shards on cpu 0 that listen both plaintext and TLS,
# the client on cpu 1; for each driver, 50 concurrent callers and pipelines of 100, plaintext
# then TLS, ROUNDS times (default 2). Certificates made with openssl on the spot. Needs a
# release build of the CLI (cargo build --release -p redis-ring-cli), redis-server built with
# TLS (Debian's is) and openssl on PATH.
set -u
BIN=${BIN:-$(dirname "$0")/../../target/release/redis-ring}
SERVER=${REDIS_SERVER:-redis-server}
ROUNDS=${ROUNDS:-2}
DUR=${DUR:-6s}
D=$(mktemp -d); P=(17211 17212 17213); T=(17221 17222 17223)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
  -keyout $D/ca.key -out $D/ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout $D/server.key -out $D/server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > $D/ext
openssl x509 -req -in $D/server.csr -CA $D/ca.crt -CAkey $D/ca.key -CAcreateserial -days 2 \
  -extfile $D/ext -out $D/server.crt 2>/dev/null
for i in 0 1 2; do
  taskset -c 0 $SERVER --port ${P[$i]} --tls-port ${T[$i]} --tls-cert-file $D/server.crt \
    --tls-key-file $D/server.key --tls-ca-cert-file $D/ca.crt --tls-auth-clients no \
    --save "" --appendonly no --daemonize no --dir $D --logfile $D/${P[$i]}.log &
done
sleep 1
PLAIN="shard1=127.0.0.1:${P[0]},shard2=127.0.0.1:${P[1]},shard3=127.0.0.1:${P[2]}"
TLS="shard1=rediss://127.0.0.1:${T[0]},shard2=rediss://127.0.0.1:${T[1]},shard3=rediss://127.0.0.1:${T[2]}"
ops() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(int(j["ops_per_sec"]), j["errors"])'; }
for r in $(seq 1 $ROUNDS); do
  for drv in smol std; do
    for mode in conc pipeline; do
      if [ $mode = conc ]; then A=(--mode conc -c 50); else A=(--mode pipeline -c 1 --pipeline 100 --op set); fi
      p=$(taskset -c 1 $BIN --shards $PLAIN bench "${A[@]}" --duration $DUR --driver $drv --json | ops)
      t=$(taskset -c 1 $BIN --cacert $D/ca.crt --shards $TLS bench "${A[@]}" --duration $DUR --driver $drv --json | ops)
      python3 -c "import sys; p,t=int('${p% *}'),int('${t% *}'); print(f'round $r $drv $mode: plain {p} ops/s (errors ${p#* }), tls {t} ops/s (errors ${t#* }), tls/plain {t/p:.2f}')"
    done
  done
done
kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf $D
