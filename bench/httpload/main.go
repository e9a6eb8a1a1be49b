// httpload: a closed-loop HTTP/1.1 keep-alive load generator for gavel's peer
// benchmark (OPA's REST API). N workers each keep one POST in flight, cycling
// through the request bodies of a file (a JSON array of objects), for a
// warmup and then a measured window; it prints one JSON object with the
// count, errors, answers not matching -expect, and latency percentiles.
//
//	go build -o /tmp/httpload ./bench/httpload
//	/tmp/httpload -url http://127.0.0.1:8181/v1/data/gavel/ai/decision -bodies bodies.json -c 32 -d 10s -warmup 2s -expect '"decision":"allow"'
//
// With -rps R the workers start requests at R per second between them (each waits for the next
// slot of a shared pacer), as ghz --rps does: an open loop at that rate while -c covers it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Count      int     `json:"count"`
	Errors     int64   `json:"errors"`
	Unexpected int64   `json:"unexpected"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
}

func main() {
	url := flag.String("url", "", "URL to POST to")
	bodiesPath := flag.String("bodies", "", "JSON array of request bodies")
	concurrency := flag.Int("c", 32, "requests in flight")
	duration := flag.Duration("d", 10*time.Second, "measured window")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warmup before the window")
	expect := flag.String("expect", "", "substring every answer must contain")
	rps := flag.Float64("rps", 0, "requests started per second between all workers (0: closed loop)")
	flag.Parse()

	raw, err := os.ReadFile(*bodiesPath)
	if err != nil {
		fail(err)
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil || len(docs) == 0 {
		fail(fmt.Errorf("%s: want a non-empty JSON array: %v", *bodiesPath, err))
	}
	bodies := make([][]byte, len(docs))
	for i, d := range docs {
		bodies[i] = []byte(d)
	}

	transport := &http.Transport{
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	want := []byte(*expect)

	start := time.Now()
	from := start.Add(*warmup)
	until := from.Add(*duration)
	var next int64
	var errors, unexpected int64
	var firstError atomic.Value
	latencies := make([][]time.Duration, *concurrency)
	var slots chan struct{}
	if *rps > 0 {
		slots = make(chan struct{})
		go pace(slots, *rps, until)
	}
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				if slots != nil {
					if _, open := <-slots; !open {
						return
					}
				}
				began := time.Now()
				if !began.Before(until) {
					return
				}
				body := bodies[int(atomic.AddInt64(&next, 1)-1)%len(bodies)]
				ok, err := post(client, *url, body, want)
				ended := time.Now()
				if ended.Before(from) || ended.After(until) {
					continue
				}
				switch {
				case err != nil:
					atomic.AddInt64(&errors, 1)
					firstError.CompareAndSwap(nil, err.Error())
				case !ok:
					atomic.AddInt64(&unexpected, 1)
				default:
					latencies[w] = append(latencies[w], ended.Sub(began))
				}
			}
		}(w)
	}
	wg.Wait()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	seconds := duration.Seconds()
	r := result{Count: len(all), Errors: errors, Unexpected: unexpected, Seconds: seconds, RPS: float64(len(all)) / seconds}
	if fe, ok := firstError.Load().(string); ok {
		r.FirstError = fe
	}
	if len(all) > 0 {
		r.P50, r.P90, r.P99, r.Max = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99), ms(all[len(all)-1])
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

// pace offers one slot per 1/rps seconds until `until`, then closes: a slot no worker is free to
// take waits for one (the workers, -c of them, bound what is in flight).
func pace(slots chan<- struct{}, rps float64, until time.Time) {
	interval := time.Duration(float64(time.Second) / rps)
	next := time.Now()
	for next.Before(until) {
		time.Sleep(time.Until(next))
		slots <- struct{}{}
		next = next.Add(interval)
	}
	close(slots)
}

func post(client *http.Client, url string, body, want []byte) (bool, error) {
	res, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return false, err
	}
	if res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("HTTP %d: %.200s", res.StatusCode, answer)
	}
	return bytes.Contains(answer, want), nil
}

// pct is the nearest-rank percentile.
func pct(sorted []time.Duration, p float64) float64 {
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return ms(sorted[i])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "httpload:", err)
	os.Exit(2)
}
