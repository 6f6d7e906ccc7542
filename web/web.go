// Package web holds the browser pages that microvm-api serves, embedded
// in the binary: the console (a terminal on a VM's shell websocket), the
// API reference, and the scripts and style sheets they load, ours in
// assets/ and third-party ones in vendor/ (copied from npm by build.sh).
//
// Pages load everything from the daemon itself and carry no inline
// script, so they run under a Content-Security-Policy of script-src
// 'self'. No page or script ever contains a credential.
package web

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed pages assets vendor
var files embed.FS

// Page returns the HTML page of that name: "console", "login" or "docs".
func Page(name string) ([]byte, error) {
	b, err := files.ReadFile("pages/" + name + ".html")
	if err != nil {
		return nil, fmt.Errorf("web page %s: %w", name, err)
	}
	return b, nil
}

// Asset returns the file served as /assets/NAME. Names are flat: our
// own files and the vendored ones share one namespace.
func Asset(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) {
		return nil, fmt.Errorf("web asset %q: %w", name, fs.ErrNotExist)
	}
	for _, dir := range []string{"assets/", "vendor/"} {
		if b, err := files.ReadFile(dir + name); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("web asset %s: %w", name, fs.ErrNotExist)
}

// AssetNames lists the files served under /assets/.
func AssetNames() []string {
	var names []string
	for _, dir := range []string{"assets", "vendor"} {
		entries, _ := files.ReadDir(dir) // embedded: cannot fail
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	return names
}
