package wsl

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// The test binary doubles as a scripted wsl.exe (the helper-process
// pattern): with WSLTEST_FAKE set it answers from a JSON file of
// responses keyed by the joined arguments and logs every call.

type fakeResponse struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	UTF16  bool   `json:"utf16"` // encode stdout as wsl.exe does without WSL_UTF8
	BOM    bool   `json:"bom"`
	Exit   int    `json:"exit"`
	Stall  bool   `json:"stall"`
}

// testBin holds the binaries the integration tests build, once per run.
var testBin string

func TestMain(m *testing.M) {
	if os.Getenv("WSLTEST_FAKE") != "" {
		os.Exit(fakeWSL(os.Args[1:]))
	}
	if os.Getenv("WSLTEST_DAEMON") != "" {
		os.Exit(fakeDaemon())
	}
	dir, err := os.MkdirTemp("", "wsl-test-bin-")
	if err != nil {
		panic(err)
	}
	testBin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func fakeWSL(args []string) int {
	key := strings.Join(args, " ")
	prev, _ := os.ReadFile(os.Getenv("WSLTEST_LOG"))
	n := 1 + strings.Count(string(prev), key+"\t")
	if f, err := os.OpenFile(os.Getenv("WSLTEST_LOG"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s\tWSL_UTF8=%s\n", key, os.Getenv("WSL_UTF8"))
		f.Close()
	}
	var responses map[string]fakeResponse
	b, _ := os.ReadFile(os.Getenv("WSLTEST_RESPONSES"))
	json.Unmarshal(b, &responses)
	r, ok := responses[fmt.Sprintf("%s#%d", key, n)] // the n-th call of key
	if !ok {
		r, ok = responses[key]
	}
	if !ok {
		r = fakeResponse{Stdout: "Invalid command line argument: " + key + "\r\n", Exit: 255}
	}
	if r.Stall {
		time.Sleep(time.Hour)
	}
	out := []byte(r.Stdout)
	if r.UTF16 {
		out = utf16le(r.Stdout, r.BOM)
	}
	os.Stdout.Write(out)
	os.Stderr.WriteString(r.Stderr)
	return r.Exit
}

func utf16le(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// fake installs the scripted wsl.exe for one test and returns a runner
// for it and a function that lists the calls made.
func fake(t *testing.T, responses map[string]fakeResponse, timeout time.Duration) (*Runner, func() []string) {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(responses)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/responses.json", b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WSLTEST_FAKE", "1")
	t.Setenv("WSLTEST_RESPONSES", dir+"/responses.json")
	t.Setenv("WSLTEST_LOG", dir+"/calls.log")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	calls := func() []string {
		b, _ := os.ReadFile(dir + "/calls.log")
		return lines(string(b))
	}
	return NewRunner(exe, timeout, nil), calls
}

// crlf turns "\n" into "\r\n" as the CRT does.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
