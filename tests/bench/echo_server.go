// P4's Go peer: echo server, one goroutine per connection. Pin it to one core with taskset
// (Go then sets GOMAXPROCS=1 by itself; run.sh also sets it explicitly). Runs until killed.
//
//	go run echo_server.go PORT
package main

import (
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echo_server PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening", os.Args[1])
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c) // TCP_NODELAY is Go's default for TCP connections
	}
}
