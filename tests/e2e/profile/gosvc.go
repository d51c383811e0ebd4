// gosvc — the ground truth of the --pprof tests: a Go service with net/http/pprof that
// spends 70 % of two goroutines' CPU in bruntGoHotSpin and 30 % in bruntGoColdSpin (the
// same instructions, 7:3 iterations), and keeps 1 MiB alive per GET /leak in
// bruntGoLeak (a heap that grows).  Listens on 127.0.0.1:0 and writes the port to the
// file named by its first argument.  Standard library only: built offline.
//
// It never outlives its test: it exits when its parent is gone (re-parented) and after
// four minutes in any case, so a test that fails or is killed cannot leave it burning.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"sync"
	"time"
)

var sink uint64
var leak [][]byte
var mu sync.Mutex
var hits = map[string]int{}
var hitsMu sync.Mutex

//go:noinline
func bruntGoHotSpin(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func bruntGoColdSpin(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func bruntGoLeak() {
	mu.Lock()
	leak = append(leak, make([]byte, 1<<20))
	mu.Unlock()
}

// boundLifetime ends the process when its parent ends, and after max in any case.
func boundLifetime(max time.Duration) {
	parent := os.Getppid()
	deadline := time.Now().Add(max)
	go func() {
		for os.Getppid() == parent && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		os.Exit(3)
	}()
}

func main() {
	boundLifetime(4 * time.Minute)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	if len(os.Args) > 1 {
		os.WriteFile(os.Args[1], []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), 0644)
	}
	for g := 0; g < 2; g++ { // two burning goroutines: twice the samples
		go func() {
			for {
				sink = bruntGoHotSpin(70000)
				sink = bruntGoColdSpin(30000)
			}
		}()
	}
	http.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) { bruntGoLeak(); w.Write([]byte("ok")) })
	http.HandleFunc("/hits", func(w http.ResponseWriter, r *http.Request) {
		hitsMu.Lock()
		defer hitsMu.Unlock()
		json.NewEncoder(w).Encode(hits)
	})
	// Every request's path is counted (GET /hits shows them), so the test knows which
	// pprof endpoints brunt fetched, and when.
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsMu.Lock()
		hits[r.URL.Path]++
		hitsMu.Unlock()
		http.DefaultServeMux.ServeHTTP(w, r)
	}))
}
