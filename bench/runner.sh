# runner.sh — what bench/run.sh and every peer's run.sh share; sourced as
#   . "$root/bench/runner.sh" "$@"
# after the script has set `who` (its name in messages) and `known` (its
# benchmarks, in the order `all` runs them). It checks the arguments
# (NAME|all [scale-divisor]; a bad one exits 2) and sets root (the
# repository), names (what to run) and divisor. The script then builds what
# it must and calls run_each with a function that runs one benchmark.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-all}
divisor=${2:-1}
[[ $divisor =~ ^[1-9][0-9]*$ ]] ||
  { echo "$who: the scale divisor must be an integer >= 1: $divisor" >&2; exit 2; }
names=("${known[@]}")
if [ "$which" != all ]; then
  case " ${known[*]} " in
    *" $which "*) names=("$which") ;;
    *) echo "$who: unknown benchmark: $which (have: ${known[*]})" >&2; exit 2 ;;
  esac
fi

# run_each FUNCTION SETTINGS: for each name, prints progress (SETTINGS says the
# thread count) and runs FUNCTION NAME DIVISOR, which prints the BENCH line.
# A failure (check=FAIL, a crash, 600 s) is reported and the rest still run;
# the status is then 1.
run_each() {
  local status=0 n
  for n in "${names[@]}"; do
    echo "$who: $n ($2, divisor=$divisor)" >&2
    "$1" "$n" "$divisor" || { echo "$who: $n failed (exit $?)" >&2; status=1; }
  done
  return $status
}
