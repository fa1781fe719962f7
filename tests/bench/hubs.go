// P9 peer (bench_hubs.cpp's twin): a round trip between two goroutines locked to two OS threads
// (GOMAXPROCS=2) through unbuffered channels, and items/s through a buffered channel of 1024
// from one to the other. Standard library only. -locked=false lets the scheduler place the two
// goroutines freely (for context: that is how Go programs usually run).
//
//	go run hubs.go [-runs 5] [-rounds 200000] [-items 10000000] [-locked=false]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// The caller's goroutine is locked to its thread; the echo goroutine locks itself to another.
var locked = flag.Bool("locked", true, "lock each goroutine to its own OS thread")

func lock() {
	if *locked {
		runtime.LockOSThread()
	}
}

func roundTripNs(rounds int) float64 {
	there, back := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		lock()
		for v := range there {
			back <- v
		}
		close(done)
	}()
	sum := 0
	t0 := time.Now()
	for i := 0; i < rounds; i++ {
		there <- i
		sum += <-back
	}
	el := time.Since(t0)
	close(there)
	<-done
	if sum != rounds*(rounds-1)/2 {
		fmt.Fprintln(os.Stderr, "hubs.go: round trip checksum wrong")
		os.Exit(1)
	}
	return float64(el.Nanoseconds()) / float64(rounds)
}

func queueItemsPerS(items int) float64 {
	q := make(chan int, 1024)
	result := make(chan [2]int)
	go func() {
		lock()
		sum, count := 0, 0
		for v := range q {
			sum += v
			count++
		}
		result <- [2]int{sum, count}
	}()
	t0 := time.Now()
	for i := 0; i < items; i++ {
		q <- i & 0xffff
	}
	close(q)
	r := <-result
	el := time.Since(t0)
	want := 0
	for i := 0; i < items; i++ {
		want += i & 0xffff
	}
	if r[1] != items || r[0] != want {
		fmt.Fprintln(os.Stderr, "hubs.go: queue lost or duplicated items")
		os.Exit(1)
	}
	return float64(items) / el.Seconds()
}

func main() {
	runs := flag.Int("runs", 5, "runs")
	rounds := flag.Int("rounds", 200000, "round trips per run")
	items := flag.Int("items", 10000000, "items through the buffered channel per run")
	flag.Parse()
	runtime.GOMAXPROCS(2)
	lock()
	var rt, qs []float64
	for r := 0; r < *runs; r++ {
		rt = append(rt, roundTripNs(*rounds))
		qs = append(qs, queueItemsPerS(*items))
		fmt.Printf("run %d: round trip %.0f ns, queue %.2f M items/s\n", r+1, rt[len(rt)-1], qs[len(qs)-1]/1e6)
	}
	fmt.Printf("median: round trip %.0f ns, queue %.2f M items/s\n", median(rt), median(qs)/1e6)
}
