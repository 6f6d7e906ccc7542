package agentclient_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
)

// TestVPNWatchAsksForChangesPastAGeneration checks the long-poll request
// the daemon's event stream relies on.
func TestVPNWatchAsksForChangesPastAGeneration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != agentapi.PathVPN || q.Get("after") != "41" || q.Get("wait") != "25s" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(agentapi.VPNStatus{State: agentapi.VPNConnected, Generation: 42})
	}))
	defer srv.Close()
	c := agentclient.New(strings.TrimPrefix(srv.URL, "http://"), "tok")
	defer c.Close()
	st, err := c.VPNWatch(t.Context(), 41, 25*time.Second)
	if err != nil || st.Generation != 42 || st.State != agentapi.VPNConnected {
		t.Fatalf("watch: %+v %v", st, err)
	}
}
