// The core benchmarks, as in bench/pingpong.c, counting.c, ring.c, skynet.c,
// spawn_mem.c and fanout_backpressure.c: goroutines are the actors and a
// buffered channel of capacity mailbox is each one's mailbox. Each returns
// whether its check passed (after printing its BENCH line).
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// scaled is size/div, at least 1.
func scaled(size, div int64) int64 {
	if s := size / div; s > 1 {
		return s
	}
	return 1
}

// pingpong: ping sends one message, pong sends it back, R round trips.
func pingpong(div int64) bool {
	rounds := scaled(1000000, div)
	t0 := time.Now()
	toPong := make(chan int64, mailbox)
	toPing := make(chan int64, mailbox)
	replies := make(chan int64, 1)
	go func() { // pong
		for v := range toPong {
			toPing <- v
		}
	}()
	go func() { // ping
		var got int64
		for i := int64(0); i < rounds; i++ {
			toPong <- i
			if <-toPing == i {
				got++
			}
		}
		close(toPong)
		replies <- got
	}()
	got := <-replies
	secs := time.Since(t0).Seconds()
	return report("pingpong", 2*rounds, secs, got == rounds, "")
}

const countingSenders = 100

// counting: 100 senders each send 1..M to one counter, which adds them up.
func counting(div int64) bool {
	m := scaled(100000, div)
	total := countingSenders * m
	t0 := time.Now()
	in := make(chan int64, mailbox)
	result := make(chan [2]int64, 1)
	go func() { // the counter
		var count, sum int64
		for count < total {
			sum += <-in
			count++
		}
		result <- [2]int64{count, sum}
	}()
	for s := 0; s < countingSenders; s++ {
		go func() {
			for v := int64(1); v <= m; v++ {
				in <- v
			}
		}()
	}
	r := <-result
	secs := time.Since(t0).Seconds()
	return report("counting", total, secs, r[0] == total && r[1] == total*(m+1)/2, "")
}

const ringSize = 1000

// ring: 1,000 goroutines in a ring pass one token, which carries the number of
// hops made so far, until it has made H hops.
func ring(div int64) bool {
	hops := scaled(10000000, div)
	t0 := time.Now()
	boxes := make([]chan int64, ringSize)
	for i := range boxes {
		boxes[i] = make(chan int64, mailbox)
	}
	arrived := make(chan int64, 1)
	for i := range boxes {
		go func(in, next chan int64) {
			for h := range in {
				if h == hops {
					arrived <- h
					return
				}
				next <- h + 1
			}
		}(boxes[i], boxes[(i+1)%ringSize])
	}
	boxes[0] <- 0
	h := <-arrived
	secs := time.Since(t0).Seconds()
	for _, b := range boxes { // the others stop
		close(b)
	}
	return report("ring", hops, secs, h == hops, "")
}

// skynetNode is one actor of the tree: a leaf replies its number, a parent
// spawns its 10 children and replies the sum of theirs. A parent's mailbox
// gets exactly 10 messages, so it is a channel of 10 (a capacity of 1,000
// would only add 8 KB per parent and could never fill).
func skynetNode(parent chan<- int64, first, size int64) {
	if size == 1 {
		parent <- first
		return
	}
	box := make(chan int64, 10)
	step := size / 10
	for i := int64(0); i < 10; i++ {
		go skynetNode(box, first+i*step, step)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-box
	}
	parent <- sum
}

// skynet: the 10-ary tree down to 1,000,000 leaves (with a divisor, the
// largest power of ten <= 1,000,000/div).
func skynet(div int64) bool {
	leaves := int64(1)
	for leaves*10 <= 1000000/div {
		leaves *= 10
	}
	actors := int64(0)
	for l := leaves; l >= 1; l /= 10 {
		actors += l
	}
	t0 := time.Now()
	root := make(chan int64, 1)
	go skynetNode(root, 0, leaves)
	sum := <-root
	secs := time.Since(t0).Seconds()
	return report("skynet", actors, secs, sum == leaves*(leaves-1)/2, "")
}

// spawn_mem: K idle goroutines, each waiting on its own mailbox for a stop
// message; RSS is read before and after spawning them, then each is stopped.
// The stop message carries nothing (struct{}), so a mailbox of 1,000 has no
// buffer to allocate.
func spawnMem(div int64) bool {
	k := scaled(1000000, div)
	boxes := make([]chan struct{}, k)
	for i := range boxes { // touched now: not counted as the actors' memory
		boxes[i] = nil
	}
	var stopped atomic.Int64
	var wg sync.WaitGroup
	before := statusKB("VmRSS")
	t0 := time.Now()
	wg.Add(int(k))
	for i := range boxes {
		in := make(chan struct{}, mailbox)
		boxes[i] = in
		go func() {
			<-in
			stopped.Add(1)
			wg.Done()
		}()
	}
	after := statusKB("VmRSS")
	for _, b := range boxes {
		b <- struct{}{}
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	return report("spawn_mem", k, secs, stopped.Load() == k,
		fmt.Sprintf(" bytes_per_actor=%d", (after-before)*1024/k))
}

// slowWork is the consumer's work per message: 64 dependent rounds of a
// 64-bit LCG. Go 1.19 keeps the loop (`go build -gcflags=-S` shows the 64
// multiply-adds), and it runs at ~75 ns a value, as the C does.
func slowWork(x uint64) uint64 {
	for i := 0; i < 64; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

type bpResult struct {
	received int64
	acc      uint64
	inOrder  bool
}

// fanout_backpressure: one producer sends 0..N-1 to a slow consumer through a
// channel of 1,000, so the producer blocks whenever the consumer is 1,000
// behind. The consumer chains every value through its checksum,
// acc = slowWork(acc + value), as bench/fanout_backpressure.c does; it must
// equal the same chain computed on one thread after the run (so no round was
// skipped); ceiling_rate= is that recomputation's rate, ratio= the run's
// rate over it.
func fanoutBackpressure(div int64) bool {
	n := scaled(10000000, div)
	t0 := time.Now()
	in := make(chan int64, mailbox)
	done := make(chan bpResult, 1)
	go func() { // the consumer
		r := bpResult{inOrder: true}
		for v := range in {
			if v != r.received {
				r.inOrder = false
			}
			r.received++
			r.acc = slowWork(r.acc + uint64(v))
		}
		done <- r
	}()
	go func() { // the producer
		for v := int64(0); v < n; v++ {
			in <- v
		}
		close(in)
	}()
	r := <-done
	secs := time.Since(t0).Seconds()

	c0 := time.Now()
	acc := uint64(0)
	for v := int64(0); v < n; v++ {
		acc = slowWork(acc + uint64(v))
	}
	ceiling := float64(n) / time.Since(c0).Seconds()
	rate := float64(n) / secs
	return report("fanout_backpressure", n, secs, r.received == n && r.inOrder && r.acc == acc,
		fmt.Sprintf(" ceiling_rate=%d ratio=%.3f", int64(ceiling), rate/ceiling))
}
