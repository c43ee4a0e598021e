// Go versions of troupe's benchmarks (bench/NAME.c): the core lines
// pingpong, counting, ring, skynet, spawn_mem and fanout_backpressure
// (core.go), and the scaling lines fanout_fj, broker and many_to_many.
// Goroutines are the actors, a channel is each mailbox (buffered, 1,000),
// same shapes and sizes, and the same BENCH line.
// Usage: peer NAME [scale-divisor]; GOMAXPROCS is the number of workers.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// The capacity of every channel that stands for a mailbox.
const mailbox = 1000

func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return -1
}

// report prints the BENCH line and returns whether the check passed.
func report(name string, n int64, secs float64, ok bool, extra string) bool {
	check := "ok"
	if !ok {
		check = "FAIL"
	}
	fmt.Printf("BENCH name=%s impl=go workers=%d n=%d secs=%.3f rate=%d rss_kb=%d check=%s%s\n",
		name, runtime.GOMAXPROCS(0), n, secs, int64(float64(n)/secs), statusKB("VmHWM"), check, extra)
	return ok
}

// The benchmarks by name; each prints its BENCH line and returns whether its
// check passed.
var benchmarks = map[string]func(div int64) bool{
	"pingpong": pingpong, "counting": counting, "ring": ring, "skynet": skynet,
	"spawn_mem": spawnMem, "fanout_backpressure": fanoutBackpressure,
	"fanout_fj": fanoutFJ, "broker": broker, "many_to_many": manyToMany,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer pingpong|counting|ring|skynet|spawn_mem|fanout_backpressure|fanout_fj|broker|many_to_many [scale-divisor]")
		os.Exit(2)
	}
	div := int64(1)
	if len(os.Args) > 2 {
		d, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil || d < 1 {
			fmt.Fprintln(os.Stderr, "scale divisor must be an integer >= 1")
			os.Exit(2)
		}
		div = d
	}
	run, known := benchmarks[os.Args[1]]
	if !known {
		fmt.Fprintln(os.Stderr, "unknown benchmark", os.Args[1])
		os.Exit(2)
	}
	ok := run(div)
	if !ok {
		os.Exit(1)
	}
}
