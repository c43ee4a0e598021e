// many_to_many: 1,000 goroutines each send M values to uniformly random
// others (a xorshift64 each, as in bench/many_to_many.c, so the traffic is
// the same) and add up what they receive. A goroutine waits on its send and
// its own mailbox at once (select), so full mailboxes cannot deadlock.
package main

import "time"

const (
	mmPeers   = 1000
	mmPerPeer = 20000
)

func mmSeed(index int64) uint64 { return 0x9e3779b97f4a7c15 * uint64(index+1) }

// mmNext is the next destination: uniform over the mmPeers - 1 others.
func mmNext(rng *uint64, self int64) int64 {
	x := *rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*rng = x
	d := int64(((x >> 32) * (mmPeers - 1)) >> 32)
	if d >= self {
		d++
	}
	return d
}

type mmResult struct{ index, received, sum int64 }

func manyToMany(div int64) bool {
	m := mmPerPeer / div
	if m < 1 {
		m = 1
	}
	n := mmPeers * m
	var wantCount, wantSum [mmPeers]int64 // the replay, untimed
	for i := int64(0); i < mmPeers; i++ {
		rng := mmSeed(i)
		for j := int64(0); j < m; j++ {
			d := mmNext(&rng, i)
			wantCount[d]++
			wantSum[d] += i*m + j + 1
		}
	}
	t0 := time.Now()
	boxes := make([]chan int64, mmPeers)
	for i := range boxes {
		boxes[i] = make(chan int64, mailbox)
	}
	results := make(chan mmResult, mmPeers)
	for i := int64(0); i < mmPeers; i++ {
		go func(self, expected int64) {
			in := boxes[self]
			rng := mmSeed(self)
			var received, sum int64
			for j := int64(0); j < m; {
				to, v := mmNext(&rng, self), self*m+j+1
			retry:
				select {
				case boxes[to] <- v:
					j++
				case x := <-in:
					received++
					sum += x
					goto retry
				}
			}
			for received < expected {
				sum += <-in
				received++
			}
			results <- mmResult{self, received, sum}
		}(i, wantCount[i])
	}
	ok := true
	var received, sum int64
	for i := 0; i < mmPeers; i++ {
		r := <-results
		ok = ok && r.received == wantCount[r.index] && r.sum == wantSum[r.index]
		received += r.received
		sum += r.sum
	}
	secs := time.Since(t0).Seconds()
	ok = ok && received == n && sum == n*(n+1)/2
	return report("many_to_many", n, secs, ok, "")
}
