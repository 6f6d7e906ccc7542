package vpn

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

func do(t *testing.T, h http.Handler, method, body string) (*httptest.ResponseRecorder, agentapi.Error) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, agentapi.PathVPN, strings.NewReader(body)))
	var e agentapi.Error
	if rec.Code >= 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%s: error body %q: %v", method, rec.Body, err)
		}
	}
	return rec, e
}

func TestHandler(t *testing.T) {
	h := Handler(New(Config{}))
	rec, _ := do(t, h, http.MethodGet, "")
	var st agentapi.VPNStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &st); rec.Code != 200 || err != nil || st.State != agentapi.VPNDisconnected {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		method, body string
		status       int
		code         string
	}{
		{http.MethodPut, `{"profile":"p"}`, 400, agentapi.CodeInvalid},
		{http.MethodPut, `{"profile":"p","config":"client","password":"x\ny"}`, 400, agentapi.CodeInvalid},
		{http.MethodPut, `{"profile":"p","config":"client","extra":1}`, 400, agentapi.CodeInvalid},
		{http.MethodPut, `not json`, 400, agentapi.CodeInvalid},
		{http.MethodPut, `{"config":"` + strings.Repeat("a", maxRequest) + `"}`, 413, agentapi.CodeTooLarge},
		{http.MethodPost, ``, 405, agentapi.CodeMethodNotAllowed},
	} {
		rec, e := do(t, h, tc.method, tc.body)
		if rec.Code != tc.status || e.Code != tc.code {
			t.Errorf("%s %.40q: %d %+v, want %d %s", tc.method, tc.body, rec.Code, e, tc.status, tc.code)
		}
	}
	if rec, _ := do(t, h, http.MethodDelete, ""); rec.Code != 200 {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{})
		h := Handler(s)
		get := func(query string) (agentapi.VPNStatus, time.Duration) {
			start := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agentapi.PathVPN+query, nil))
			var st agentapi.VPNStatus
			if err := json.Unmarshal(rec.Body.Bytes(), &st); rec.Code != 200 || err != nil {
				t.Fatalf("GET %s: %d %s", query, rec.Code, rec.Body)
			}
			return st, time.Since(start)
		}
		done := make(chan agentapi.VPNStatus)
		go func() {
			st, _ := get("?after=0&wait=30s")
			done <- st
		}()
		synctest.Wait() // the watcher is blocked
		s.Disconnect(t.Context())
		if st := <-done; st.Generation != 1 || st.State != agentapi.VPNDisconnected {
			t.Errorf("watcher got %+v, want generation 1", st)
		}
		// Already past: at once. Nothing new: the current status after wait.
		if st, took := get("?after=0"); st.Generation != 1 || took != 0 {
			t.Errorf("after=0: generation %d after %v", st.Generation, took)
		}
		if st, took := get("?after=1&wait=5s"); st.Generation != 1 || took != 5*time.Second {
			t.Errorf("after=1: generation %d after %v, want 1 after 5s", st.Generation, took)
		}
		if _, took := get("?after=1&wait=1h"); took != maxWait {
			t.Errorf("wait=1h waited %v, want the cap %v", took, maxWait)
		}
	})
	h := Handler(New(Config{}))
	for _, q := range []string{"?after=x", "?after=1&wait=-1s", "?after=1&wait=soon"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agentapi.PathVPN+q, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", q, rec.Code)
		}
	}
}
