package client_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

func TestVPNCalls(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		if r.URL.Path != "/v1/vms/work/vpn" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotImplemented)
			io.WriteString(w, `{"status":501,"code":"not_implemented","title":"Not implemented"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"state":"connecting","profile":"home"}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "t")
	ctx := t.Context()
	if st, err := c.ConnectVPN(ctx, "work", "home"); err != nil || st.State != "connecting" || st.Profile != "home" {
		t.Fatalf("ConnectVPN = %+v, %v", st, err)
	}
	if _, err := c.VPNStatus(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisconnectVPN(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VPNStatus(ctx, "other"); !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Fatalf("VPNStatus(other) = %v", err)
	}
	want := []string{
		"PUT /v1/vms/work/vpn {\"profile\":\"home\"}",
		"GET /v1/vms/work/vpn ",
		"DELETE /v1/vms/work/vpn ",
		"GET /v1/vms/other/vpn ",
	}
	if len(got) != len(want) {
		t.Fatalf("requests = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %q, want %q", i, got[i], want[i])
		}
	}
}
