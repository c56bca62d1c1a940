#!/usr/bin/env bash
# `portbot probe 127.0.0.1 PORT` beside `nmap -sT -Pn -p PORT 127.0.0.1`, whole processes, in turn (A B A B ...),
# for a closed port and for an open one (a server that speaks first, like SSH: identified at once).
#
#   bench/probe_cli_coldstart.sh [PAIRS] [PORTBOT...]     # default 20 pairs after 2 warm-ups, .venv/bin/portbot
#
# Prints one line per case: medians of CPU (user + sys) and wall, and the median of the pair-by-pair ratios.
# Loopback only. Bytecode caches must be present and writable (unset PYTHONDONTWRITEBYTECODE; python -m
# compileall -q bot probes knowledge), else every run compiles our modules again (~150 ms).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PAIRS=${1:-20}
shift || true
PORTBOT=("$@")
[ ${#PORTBOT[@]} -eq 0 ] && PORTBOT=("$ROOT/.venv/bin/portbot")
PY=$ROOT/.venv/bin/python
DATA=$(mktemp -d)
# Run from an empty directory: `python -c` wrappers (e.g. another checkout on PYTHONPATH) put the working
# directory first on sys.path, and no .env should be read.
cd "$DATA"
export PORTBOT_DATA_DIR=$DATA PORTBOT_ALLOW_NETWORKS=127.0.0.0/8
export PORTBOT_LIMIT_USER=100000/minute PORTBOT_LIMIT_TARGET=100000/minute
unset PYTHONDONTWRITEBYTECODE PORTBOT_WORKERS PORTBOT_REDIS_URL

# The open port: a server on an ephemeral port that sends an SSH identification line to each connection.
PORTFILE=$DATA/port
$PY - "$PORTFILE" <<'PYEOF' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    try:  # nmap resets its connection at once
        c.sendall(b"SSH-2.0-OpenSSH_9.6 bench\r\n")
    except OSError:
        pass
    held.append(c)
    held = held[-200:]
PYEOF
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
while [ ! -s "$PORTFILE" ]; do sleep 0.05; done
OPEN=$(cat "$PORTFILE")
CLOSED=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

pair() {  # pair LABEL PORT: A = portbot, B = nmap
  local label=$1 port=$2 t a b i
  t=$(mktemp)
  for i in $(seq 1 $((PAIRS + 2))); do
    /usr/bin/time -o "$t" -f '%e %U %S' "${PORTBOT[@]}" probe 127.0.0.1 "$port" >/dev/null 2>&1; a=$(tail -1 "$t")
    /usr/bin/time -o "$t" -f '%e %U %S' nmap -sT -Pn -p "$port" 127.0.0.1 >/dev/null 2>&1; b=$(tail -1 "$t")
    [ "$i" -gt 2 ] && echo "$a $b"
  done | $PY -c '
import statistics as st, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
aw = [r[0] for r in rows]; ac = [r[1] + r[2] for r in rows]; bw = [r[3] for r in rows]; bc = [r[4] + r[5] for r in rows]
rc = [a / b for a, b in zip(ac, bc) if b]; rw = [a / b for a, b in zip(aw, bw) if b]
ms = lambda x: round(st.median(x) * 1000)
print(f"{sys.argv[1]}: n={len(rows)} portbot CPU/wall {ms(ac)}/{ms(aw)} ms, nmap {ms(bc)}/{ms(bw)} ms, "
      f"ratio CPU {st.median(rc):.2f}x ({min(rc):.2f}-{max(rc):.2f}), wall {st.median(rw):.2f}x ({min(rw):.2f}-{max(rw):.2f})")
' "$label"
  rm -f "$t"
}
uptime
pair "closed port" "$CLOSED"
pair "open port (speaks first)" "$OPEN"
uptime
