//go:build ignore

// echo_server HOST PORT: the Go peer of troupe's examples/echo_server.c, a
// line echo server with one goroutine per connection. Each goroutine reads
// lines with a bufio.Reader and writes them back through a bufio.Writer that
// it flushes whenever no more input is buffered, and closes the connection
// when the client does. PORT 0 picks a free port.
//
// Built alone (go build -o echo_server echo_server.go, as echo_build.sh
// does); the build tag keeps it out of any package in this directory.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: echo_server HOST PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_server:", err)
		os.Exit(1)
	}
	fmt.Printf("echo_server (go): listening on %s, a goroutine per connection\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, say: wait a little rather than spin.
			fmt.Fprintln(os.Stderr, "echo_server: accept:", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}

func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		// A line longer than the reader's buffer comes in pieces (ErrBufferFull).
		line, err := r.ReadSlice('\n')
		if _, werr := w.Write(line); werr != nil {
			return
		}
		if r.Buffered() == 0 || err != nil && err != bufio.ErrBufferFull {
			if w.Flush() != nil {
				return
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
