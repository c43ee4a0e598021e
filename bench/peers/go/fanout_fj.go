// fanout_fj: one producer, 100 receivers, rounds of 10,000 values sent
// round-robin (100 to each); each receiver hashes its values, and reports its
// sum when it has had its 100; the producer starts the next round once all
// 100 reports are in. See bench/fanout_fj.c.
package main

import (
	"fmt"
	"time"
)

const (
	fjReceivers   = 100
	fjPerReceiver = 100
	fjRounds      = 3000
	fjWorkIters   = 32
)

// fjWork is the receivers' work: fjWorkIters rounds of xor-shift-multiply.
func fjWork(x uint64) uint64 {
	for i := 0; i < fjWorkIters; i++ {
		x ^= x >> 31
		x *= 0x9e3779b97f4a7c15
	}
	return x
}

func fanoutFJ(div int64) bool {
	rounds := fjRounds / div
	if rounds < 1 {
		rounds = 1
	}
	n := rounds * fjReceivers * fjPerReceiver
	t0 := time.Now()
	reports := make(chan uint64, mailbox)
	boxes := make([]chan int64, fjReceivers)
	for i := range boxes {
		boxes[i] = make(chan int64, mailbox)
		go func(in chan int64) {
			count, sum := 0, uint64(0)
			for v := range in {
				sum += fjWork(uint64(v))
				if count++; count == fjPerReceiver {
					reports <- sum
					count, sum = 0, 0
				}
			}
		}(boxes[i])
	}
	var total uint64
	var got int64
	next := int64(0)
	for r := int64(0); r < rounds; r++ {
		for i := 0; i < fjReceivers*fjPerReceiver; i++ { // the fork
			boxes[i%fjReceivers] <- next
			next++
		}
		for i := 0; i < fjReceivers; i++ { // the join
			total += <-reports
			got++
		}
	}
	secs := time.Since(t0).Seconds()
	for _, b := range boxes {
		close(b)
	}
	w0 := time.Now()
	want := uint64(0)
	for v := int64(0); v < n; v++ {
		want += fjWork(uint64(v))
	}
	alone := time.Since(w0).Seconds()
	return report("fanout_fj", n, secs, total == want && got == rounds*fjReceivers,
		fmt.Sprintf(" rounds=%d work_alone_rate=%d", rounds, int64(float64(n)/alone)))
}
