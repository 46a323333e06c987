package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// heavyBody is one of the costliest requests the default limits allow: an
// expression of DefaultMaxExprLen characters, x+x*y+x*y+..., whose answer
// (every step, its formula and the circuit's layout) runs to a few hundred
// kilobytes.
func heavyBody() string {
	var b strings.Builder
	b.WriteString("x")
	for b.Len()+4 <= DefaultMaxExprLen {
		b.WriteString("+x*y")
	}
	return reqBody(b.String(), "x=0.5 y=-1.5")
}

// Bounds of the load test. On a 2-core machine shared with a dozen busy
// processes (load average 14 to 19) runs with the default limit took 5 to
// 7 s, with p99 latency 4.9 to 6.9 s; without the limit, 35 s (requests
// timing out).
//
// The heap bound is on the live heap as the collector last marked it, not
// on the heap's objects: those include garbage not yet swept, which
// depends on when collections happen to fall (it read 277 MB on a CI
// runner, against 98 to 164 MB here). On a quiet 2-core machine the
// live heap peaked at 38 to 92 MB with the default limit (GOMAXPROCS 2 and
// 8) and at 130 to 256 MB with the limit raised to 1000.
const (
	loadRequests = 1000
	loadP99      = 12 * time.Second // latency of the slowest 1%, 503s included
	loadPeakHeap = 200 << 20        // live heap of server and clients together
)

// TestLoadBounded sends 1000 heavy requests at once to a server on the
// loopback interface and checks that it stays within bounds: every answer
// is 200 or 503 (with Retry-After), the slowest 1% within loadP99, and the
// heap, sampled all along, under loadPeakHeap.
func TestLoadBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	opts := Options{ErrorLog: log.New(io.Discard, "", 0)}
	if v := os.Getenv("BACKPROP_LOAD_MAX_IN_FLIGHT"); v != "" { // to measure other limits by hand
		opts.MaxInFlight, _ = strconv.Atoi(v)
	}
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/api/grad"

	body := heavyBody()
	// The answer is what the page would get; check it once, alone.
	if resp, err := http.Post(url, "application/json", strings.NewReader(body)); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a lone heavy request: %d %s", resp.StatusCode, b)
		}
		t.Logf("a heavy request: %d bytes in, %d bytes out", len(body), len(b))
	}

	// Sample the live heap while the requests run.
	var peak uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: loadRequests,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		},
	}
	defer client.CloseIdleConnections()
	type result struct {
		status     int
		retryAfter string
		latency    time.Duration
		err        error
		msg        string
	}
	results := make([]result, loadRequests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			resp, err := client.Post(url, "application/json", strings.NewReader(body))
			if err != nil {
				results[i] = result{err: err, latency: time.Since(t0)}
				return
			}
			var head [200]byte
			n, _ := io.ReadFull(resp.Body, head[:])
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
				latency: time.Since(t0), msg: string(head[:n])}
		}()
	}
	runtime.GC()
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	close(stopSampling)
	<-sampled

	counts := map[int]int{}
	var latencies []time.Duration
	for _, r := range results {
		latencies = append(latencies, r.latency)
		if r.err != nil {
			t.Errorf("request failed: %v", r.err)
			continue
		}
		counts[r.status]++
		switch r.status {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			if r.retryAfter == "" {
				t.Errorf("503 without Retry-After: %s", r.msg)
			}
			var e apiError
			if json.NewDecoder(bytes.NewReader([]byte(r.msg))).Decode(&e); !strings.Contains(e.Error, "busy") {
				t.Errorf("503 says %q", r.msg)
			}
		default:
			t.Errorf("status %d: %s", r.status, r.msg)
		}
	}
	slices.Sort(latencies)
	p50, p99 := latencies[len(latencies)/2], latencies[len(latencies)*99/100]
	t.Logf("%d requests at once in %v: %v; latency p50 %v, p99 %v, max %v; peak live heap %.1f MB; %d turned away",
		loadRequests, elapsed.Round(time.Millisecond), counts, p50.Round(time.Millisecond), p99.Round(time.Millisecond),
		latencies[len(latencies)-1].Round(time.Millisecond), float64(peak)/(1<<20), s.rejected.Load())
	if counts[http.StatusOK] == 0 {
		t.Error("no request was served")
	}
	if p99 > loadP99 {
		t.Errorf("p99 latency %v, want at most %v", p99, loadP99)
	}
	if peak > loadPeakHeap {
		t.Errorf("peak live heap %d MB, want under %d MB", peak>>20, loadPeakHeap>>20)
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
