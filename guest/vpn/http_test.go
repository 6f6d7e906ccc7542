package vpn

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
