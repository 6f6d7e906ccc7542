//go:build e2e && linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

// rawRequest is one HTTP/1.1 request written byte for byte as given, so
// that nothing (no client library, no curl) cleans the path, fixes the
// Host header or drops a header on the way.
type rawRequest struct {
	Method, Target string
	Host           *string  // nil: the daemon's own host:port
	Header         []string // "Name: value" lines; "" is skipped
	Body           []byte
	Chunked        bool // send the body chunked, without a Content-Length
}

// rawAnswer is what the daemon answered to a rawRequest.
type rawAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends r to the daemon on a connection of its own.
func (d *daemon) do(t *testing.T, r rawRequest) rawAnswer {
	t.Helper()
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	host := u.Host
	if r.Host != nil {
		host = *r.Host
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.Method, r.Target, host)
	for _, h := range r.Header {
		if h != "" { // an empty line would end the header
			b.WriteString(h + "\r\n")
		}
	}
	switch {
	case r.Chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	case r.Body != nil:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	// The daemon may answer and close before it read a large body; the
	// answer is what counts, so write errors are ignored.
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		if _, err := io.WriteString(conn, b.String()); err != nil {
			return
		}
		if r.Chunked {
			for rest := r.Body; len(rest) > 0; {
				n := min(len(rest), 32<<10)
				if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", n, rest[:n]); err != nil {
					return
				}
				rest = rest[n:]
			}
			io.WriteString(conn, "0\r\n\r\n")
			return
		}
		conn.Write(r.Body)
	}()
	defer func() { conn.Close(); <-writeDone }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q: %v", r.Method, r.Target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %q: reading the answer: %v", r.Method, r.Target, err)
	}
	return rawAnswer{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// authed is the header line carrying the daemon's token.
func (d *daemon) authed() string { return "Authorization: Bearer " + d.Token }

// problemOf checks that an answer is a problem document of one of the
// statuses given, consistent with itself, and returns it.
func problemOf(t *testing.T, what string, a rawAnswer, statuses ...int) api.Problem {
	t.Helper()
	var p api.Problem
	if !slices.Contains(statuses, a.Status) {
		t.Errorf("%s: status %d, want one of %v: %s", what, a.Status, statuses, a.Body)
		return p
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json: %s", what, ct, a.Body)
		return p
	}
	if err := json.Unmarshal(a.Body, &p); err != nil || p.Status != a.Status || p.Code == "" || p.Type != "urn:microvm:problem:"+p.Code {
		t.Errorf("%s: not a consistent problem (%v): %s", what, err, a.Body)
	}
	return p
}

// tree lists every file and directory under root, with its type and
// permissions, for comparing before and after.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, rel+" "+info.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// sameTree fails when before and after differ, naming what changed.
func sameTree(t *testing.T, before, after []string) {
	t.Helper()
	for _, p := range after {
		if !slices.Contains(before, p) {
			t.Errorf("created or changed on disk: %s", p)
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			t.Errorf("removed or changed on disk: %s", p)
		}
	}
}

// codeCounts tallies problem codes for the report.
type codeCounts map[string]int

func (c codeCounts) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}
