// broker: 1,000 clients meet through one broker goroutine for R rounds each:
// a pair request naming the client's round, the broker pairs the client
// waiting in that round with the next one (lead / follow), the pair volley
// 20 messages, and both go back to the broker for their next round. n counts
// every message, the broker's included. See bench/broker.c.
package main

import (
	"fmt"
	"time"
)

const (
	bkClients = 1000
	bkRounds  = 4000
	bkVolley  = 20
)

const (
	bkLead = iota
	bkFollow
	bkHit
)

type bkMsg struct {
	kind int
	from int   // the sender's client index
	val  int64 // lead / follow: the partner's index; hit: the count
}

type bkRequest struct {
	from  int
	round int64
}

type bkResult struct{ hits, notices int64 }

func broker(div int64) bool {
	rounds := bkRounds / div
	if rounds < 1 {
		rounds = 1
	}
	pairs := int64(bkClients) * rounds / 2
	n := pairs * (4 + bkVolley)
	t0 := time.Now()
	requests := make(chan bkRequest, mailbox)
	boxes := make([]chan bkMsg, bkClients)
	for i := range boxes {
		boxes[i] = make(chan bkMsg, mailbox)
	}
	results := make(chan bkResult, bkClients)
	madePairs := make(chan int64, 1)
	go func() { // the broker
		waiting := make([]int, rounds) // per round: the client waiting, or -1
		for i := range waiting {
			waiting[i] = -1
		}
		made := int64(0)
		for made < pairs {
			r := <-requests
			w := waiting[r.round]
			if w < 0 {
				waiting[r.round] = r.from
				continue
			}
			boxes[w] <- bkMsg{bkLead, -1, int64(r.from)}
			boxes[r.from] <- bkMsg{bkFollow, -1, int64(w)}
			waiting[r.round] = -1
			made++
		}
		madePairs <- made
	}()
	for i := 0; i < bkClients; i++ {
		go func(self int, in chan bkMsg) {
			var played, notices, hits int64
			requests <- bkRequest{self, 0}
			for played < rounds || notices < rounds {
				m := <-in
				switch m.kind {
				case bkLead:
					notices++
					boxes[m.val] <- bkMsg{bkHit, self, 1}
				case bkFollow:
					notices++
				case bkHit:
					hits++
					done := m.val == bkVolley
					if !done {
						boxes[m.from] <- bkMsg{bkHit, self, m.val + 1}
						done = m.val+1 == bkVolley
					}
					if done {
						if played++; played < rounds {
							requests <- bkRequest{self, played}
						}
					}
				}
			}
			results <- bkResult{hits, notices}
		}(i, boxes[i])
	}
	var hits, notices, exact int64
	for i := 0; i < bkClients; i++ {
		r := <-results
		hits += r.hits
		notices += r.notices
		if r.hits == rounds*bkVolley/2 && r.notices == rounds {
			exact++
		}
	}
	secs := time.Since(t0).Seconds()
	made := <-madePairs
	ok := hits == pairs*bkVolley && notices == bkClients*rounds && exact == bkClients && made == pairs
	return report("broker", n, secs, ok, fmt.Sprintf(" rounds=%d", rounds))
}
