#!/usr/bin/env bash
# Scheduler scaling: every benchmark at WORKERS = 1, 2, 4, ... up to the
# number of CPUs, several runs each, then a table of median rates and a plot.
#
#   bench/scaling.sh [options] [NAME...]
#
# NAMEs default to bench/run.sh's list (those with a bench/NAME.c).
#   --rounds N        runs per line and worker count (default $ROUNDS or 3); median taken
#   --divisor D       scale divisor passed to each benchmark (default 1)
#   --oversubscribe   go on past the CPUs, up to 4 x nproc workers (a model of more cores)
#   --max-workers N   stop at N workers instead
#   --go              also run the Go versions of the lines that have one (bench/peers/go)
#   --out DIR         where to write results (default bench/out/scaling-DATE-TIME)
#   --build DIR       the Release tree (default $BENCH_BUILD or build-bench, as run.sh)
#
# Runs are interleaved (each round goes through every worker count and line
# in turn), so a noisy spell spreads over all cells instead of spoiling one.
# Progress goes to stderr; the tables (median rate in millions per second,
# then speed-up over the line's own rate at 1 worker) to stdout and to
# OUT/table.txt; every BENCH line to OUT/bench.txt; OUT/scaling.png plots
# the speed-up against workers (log-log, one curve per line) with gnuplot if
# it is installed. A run that fails or prints check=FAIL marks its cell with
# "!" and makes the script exit 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
divisor=1
oversub=0
max_workers=
with_go=0
out=
build=${BENCH_BUILD:-$root/build-bench}
names=()
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --divisor) divisor=$2; shift 2 ;;
    --oversubscribe) oversub=1; shift ;;
    --max-workers) max_workers=$2; shift 2 ;;
    --go) with_go=1; shift ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "scaling: unknown option $1" >&2; usage ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "scaling: --rounds must be >= 1" >&2; exit 2; }
[[ $divisor =~ ^[1-9][0-9]*$ ]] || { echo "scaling: --divisor must be >= 1" >&2; exit 2; }

# The lines: run.sh's list, or the arguments.
if [ ${#names[@]} -eq 0 ]; then
  read -r -a known <<<"$(sed -n 's/^known=(\([a-z_ ]*\))$/\1/p' "$root/bench/run.sh")"
  for n in "${known[@]}"; do
    [ -f "$root/bench/$n.c" ] && names+=("$n")
  done
fi
for n in "${names[@]}"; do
  [ -f "$root/bench/$n.c" ] || { echo "scaling: no benchmark bench/$n.c" >&2; exit 2; }
done
go_names=()
if [ $with_go = 1 ]; then
  read -r -a go_known <<<"$(sed -n 's/^known=(\([a-z_ ]*\))$/\1/p' "$root/bench/peers/go/run.sh")"
  for n in "${names[@]}"; do
    case " ${go_known[*]} " in *" $n "*) go_names+=("$n") ;; esac
  done
fi

# The worker counts: powers of two up to the top, and the top itself.
cpus=$(nproc)
top=${max_workers:-$((oversub ? 4 * cpus : cpus))}
[[ $top =~ ^[1-9][0-9]*$ ]] || { echo "scaling: --max-workers must be >= 1" >&2; exit 2; }
workers=()
for ((w = 1; w <= top; w *= 2)); do workers+=("$w"); done
[ "${workers[-1]}" = "$top" ] || workers+=("$top")

out=${out:-$root/bench/out/scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
raw="$out/bench.txt"
: >"$raw"

echo "scaling: building (Release) in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF \
  -DTROUPE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target "${names[@]/#/bench_}" >/dev/null
if [ ${#go_names[@]} -gt 0 ]; then # build once, before the clock matters
  WORKERS=1 "$root/bench/peers/go/run.sh" "${go_names[0]}" 1000 >/dev/null
fi

# One run: appends its BENCH line to $raw, or a FAIL line standing in for it.
run_one() { # impl name workers
  local impl=$1 name=$2 w=$3 line rc=0
  if [ "$impl" = troupe ]; then
    line=$(WORKERS=$w timeout 600 "$build/bench/bench_$name" "$divisor") || rc=$?
  else
    line=$(WORKERS=$w "$root/bench/peers/go/run.sh" "$name" "$divisor" 2>/dev/null) || rc=$?
  fi
  line=$(grep '^BENCH ' <<<"$line" | head -n 1 || true)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "scaling: $impl $name W=$w failed (exit $rc)" >&2
    line="BENCH name=$name impl=$impl workers=$w rate=0 check=FAIL"
  fi
  echo "$line" >>"$raw"
}

total=$((rounds * ${#workers[@]} * (${#names[@]} + ${#go_names[@]})))
i=0
for ((r = 1; r <= rounds; r++)); do
  for w in "${workers[@]}"; do
    for n in "${names[@]}"; do
      i=$((i + 1))
      echo "scaling: [$i/$total] round $r, W=$w, $n" >&2
      run_one troupe "$n" "$w"
    done
    for n in "${go_names[@]}"; do
      i=$((i + 1))
      echo "scaling: [$i/$total] round $r, W=$w, $n (go)" >&2
      run_one go "$n" "$w"
    done
  done
done

# Medians: one row per line and impl, one column per worker count. Writes
# the tables to stdout and the speed-ups (W=1 = 1) to scaling.dat for gnuplot.
series=()
for n in "${names[@]}"; do series+=("$n:troupe"); done
for n in "${go_names[@]}"; do series+=("$n:go"); done
awk -v workers="${workers[*]}" -v series="${series[*]}" -v rounds="$rounds" \
  -v divisor="$divisor" -v cpus="$cpus" -v dat="$out/scaling.dat" '
function field(k,   i) {
  for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2)
  return ""
}
function median(list,   v, c, i, j, t) {
  c = split(list, v, " ")
  for (i = 2; i <= c; i++)
    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  if (c == 0) return ""
  return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
}
{
  key = field("name") ":" field("impl") ":" field("workers")
  if (field("check") == "ok") ok[key] = ok[key] " " field("rate")
  else bad[key]++
}
END {
  nw = split(workers, W, " "); ns = split(series, S, " ")
  for (s = 1; s <= ns; s++)
    for (k = 1; k <= nw; k++) med[s, k] = median(ok[S[s] ":" W[k]])
  printf "Median rate, millions/s (%d run%s per cell, divisor %d, %d CPUs; ! = a run failed)\n",
    rounds, (rounds > 1 ? "s" : ""), divisor, cpus
  printf "%-28s", "line"
  for (k = 1; k <= nw; k++) printf " %9s", "W=" W[k]
  printf "\n"
  for (s = 1; s <= ns; s++) {
    split(S[s], p, ":"); printf "%-28s", p[1] " (" p[2] ")"
    for (k = 1; k <= nw; k++) {
      cell = med[s, k] == "" ? "-" : sprintf("%.2f", med[s, k] / 1e6)
      if (bad[S[s] ":" W[k]]) cell = cell "!"
      printf " %9s", cell
    }
    printf "\n"
  }
  printf "\nSpeed-up over W=1 (median rate / median rate at W=1)\n"
  printf "%-28s", "line"
  for (k = 1; k <= nw; k++) printf " %9s", "W=" W[k]
  printf "\n"
  printf "workers" > dat
  for (s = 1; s <= ns; s++) { split(S[s], p, ":"); printf " \"%s (%s)\"", p[1], p[2] > dat }
  printf "\n" > dat
  for (s = 1; s <= ns; s++) {
    split(S[s], p, ":"); printf "%-28s", p[1] " (" p[2] ")"
    for (k = 1; k <= nw; k++) {
      base = med[s, 1]
      printf " %9s", (base == "" || med[s, k] == "") ? "-" : sprintf("%.2fx", med[s, k] / base)
    }
    printf "\n"
  }
  for (k = 1; k <= nw; k++) {
    printf "%s", W[k] > dat
    for (s = 1; s <= ns; s++) {
      base = med[s, 1]
      v = (base == "" || med[s, k] == "" || base == 0) ? "?" : med[s, k] / base
      printf " %s", v > dat
    }
    printf "\n" > dat
  }
}' "$raw" | tee "$out/table.txt"

echo
echo "raw BENCH lines: $raw"
if command -v gnuplot >/dev/null; then
  term="pngcairo size 1000,650 noenhanced font \",11\""
  gnuplot -e 'set terminal pngcairo' 2>/dev/null || term="png size 1000,650 noenhanced"
  gnuplot <<EOF || echo "plot: gnuplot failed (see above); the speed-ups are in $out/scaling.dat"
set terminal $term
set output "$out/scaling.png"
set title "speed-up over 1 worker (median of $rounds, divisor $divisor, $cpus CPUs)"
set xlabel "workers"
set ylabel "rate / rate at 1 worker"
set logscale xy 2
set xrange [0.9:$((top * 11 / 10 + 1))]
set key outside right top
set grid
set datafile missing "?"
set arrow from $cpus, graph 0 to $cpus, graph 1 nohead dashtype 3 lc rgb "gray40"
set label "nproc" at $cpus, graph 1 offset 0.5,-1 tc rgb "gray40"
ncol = $((${#series[@]} + 1))
plot (x <= $cpus ? x : 1/0) with lines dashtype 2 lc rgb "gray60" title "linear", \
     for [i=2:ncol] "$out/scaling.dat" using 1:i with linespoints lw 2 pt 7 title columnheader(i)
EOF
  [ -s "$out/scaling.png" ] && echo "plot: $out/scaling.png"
else
  echo "plot: skipped, gnuplot is not installed (on Debian: apt-get install -y gnuplot-nox);"
  echo "      the speed-ups are in $out/scaling.dat"
fi
grep -q 'check=FAIL' "$raw" && { echo "scaling: some runs failed (marked !)" >&2; exit 1; }
exit 0
