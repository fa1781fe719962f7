// The Go peer for P6: download every URL listed on stdin with net/http, N at a time.
//   fetch_go N [DIR] <urls
// Bodies go to DIR/<last path segment> when DIR is given, else they are discarded. Prints the
// wall time of the downloads in seconds (the bench times the whole process). Standard library only.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"sync"
	"time"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	dir := ""
	if len(os.Args) > 2 {
		dir = os.Args[2]
	}
	var urls []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		urls = append(urls, sc.Text())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
	jobs := make(chan string)
	var wg sync.WaitGroup
	failed := 0
	var mu sync.Mutex
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				resp, err := client.Get(u)
				if err == nil {
					err = save(resp.Body, dir, u)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	for _, u := range urls {
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d failed\n", failed)
		os.Exit(1)
	}
}

// save copies a body to dir/<last segment of u>, or discards it when dir is empty.
func save(body io.Reader, dir, u string) error {
	if dir == "" {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	f, err := os.Create(path.Join(dir, path.Base(u)))
	if err != nil {
		return err
	}
	if _, err = io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
