# common.sh — what every peer's run.sh shares; sourced as
#   . "$here/../common.sh" "$@"
# after the run.sh has set `peer` (its name in messages) and `known` (its
# benchmarks, in the order `all` runs them). It checks the arguments
# (NAME|all [scale-divisor]; a bad one exits 2) and sets root (the
# repository), names (what to run) and divisor. The run.sh then builds what it
# must and calls peer_run with a function that runs one benchmark.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
which=${1:-all}
divisor=${2:-1}
[[ $divisor =~ ^[1-9][0-9]*$ ]] ||
  { echo "$peer-peer: the scale divisor must be an integer >= 1: $divisor" >&2; exit 2; }
names=("${known[@]}")
if [ "$which" != all ]; then
  case " ${known[*]} " in
    *" $which "*) names=("$which") ;;
    *) echo "$peer-peer: unknown benchmark: $which (have: ${known[*]})" >&2; exit 2 ;;
  esac
fi

# peer_run FUNCTION SETTINGS: for each name, prints progress (SETTINGS says the
# thread count) and runs FUNCTION NAME DIVISOR, which prints the BENCH line.
# A failure (check=FAIL, a crash, 600 s) is reported and the rest still run;
# the status is then 1.
peer_run() {
  local status=0 n
  for n in "${names[@]}"; do
    echo "$peer-peer: $n ($2, divisor=$divisor)" >&2
    "$1" "$n" "$divisor" || { echo "$peer-peer: $n failed (exit $?)" >&2; status=1; }
  done
  return $status
}
