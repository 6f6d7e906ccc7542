package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

// BenchmarkGetVM compares GET /v1/vms/default through the whole API
// (Host, origin and token checks, routing, spec validation, logging) with
// a bare net/http handler answering the same JSON, both over loopback
// with keep-alive connections and parallel clients.
//
//	go test -run '^$' -bench GetVM -cpu 2 ./server/
func BenchmarkGetVM(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		vm := api.VM{Name: "default", Backend: "linux", State: "created", SocksAddress: "127.0.0.1:1080",
			AgentAddress: "127.0.0.1:1025", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(vm)
		}))
		defer ts.Close()
		load(b, ts.URL+"/v1/vms/default", "")
	})
	b.Run("api", func(b *testing.B) {
		e := newEnv(b)
		load(b, e.url+"/v1/vms/default", testToken)
	})
}

func load(b *testing.B, url, token string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkHandler measures the API's own cost per GET /v1/vms/default
// without the network: the whole handler against a bare one.
func BenchmarkHandler(b *testing.B) {
	e := newEnv(b)
	h := e.handler
	vm := api.VM{Name: "default", Backend: "linux", State: "created", SocksAddress: "127.0.0.1:1080",
		AgentAddress: "127.0.0.1:1025", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(vm)
	})
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"api", h}} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/vms/default", nil)
			req.Host = e.host
			req.Header.Set("Authorization", "Bearer "+testToken)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				tc.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
