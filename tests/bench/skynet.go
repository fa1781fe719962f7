// P2's Go twin of bench_skynet.cpp: the skynet tree with goroutines and channels.
// Run with GOMAXPROCS=1 (one thread, like grove's hub). Prints each run and the median.
//
//	go run skynet.go [runs=5] [leaves=1000000]
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
)

func skynet(c chan<- int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	sub := size / 10
	rc := make(chan int64, 10) // buffered: a child finishes without waiting for its parent to receive
	for i := int64(0); i < 10; i++ {
		go skynet(rc, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func main() {
	runs, leaves := 5, int64(1000000)
	if len(os.Args) > 1 {
		runs, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		leaves, _ = strconv.ParseInt(os.Args[2], 10, 64)
	}
	expect := leaves * (leaves - 1) / 2
	var ms []float64
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		c := make(chan int64, 1)
		go skynet(c, 0, leaves)
		sum := <-c
		d := float64(time.Since(t0).Microseconds()) / 1000
		if sum != expect {
			fmt.Fprintf(os.Stderr, "skynet: wrong result %d, want %d\n", sum, expect)
			os.Exit(1)
		}
		ms = append(ms, d)
		fmt.Printf("run %d: %.1f ms (result %d)\n", r, d, sum)
	}
	sort.Float64s(ms)
	fmt.Printf("median_ms %.1f\n", ms[len(ms)/2])
}
