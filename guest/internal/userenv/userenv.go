// Package userenv finds the agent's user in /etc/passwd and builds the
// default environment of the programs the agent starts.
package userenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// User is what a started program needs to know of the user it runs as.
type User struct {
	Name, Home, Shell string
}

// Current reads the agent's user from /etc/passwd, falling back to
// /bin/sh and / when it has no entry (as in a minimal image).
func Current() User {
	u := User{Name: "root", Home: "/", Shell: "/bin/sh"}
	uid := os.Getuid()
	if uid != 0 {
		u.Name = strconv.Itoa(uid)
	}
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return u
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// name:password:uid:gid:gecos:home:shell
		fs := strings.Split(sc.Text(), ":")
		if len(fs) < 7 || fs[2] != strconv.Itoa(uid) {
			continue
		}
		u.Name = fs[0]
		if fs[5] != "" {
			u.Home = fs[5]
		}
		if sh := fs[6]; sh != "" {
			if st, err := os.Stat(sh); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				u.Shell = sh
			}
		}
		break
	}
	return u
}

// DefaultPath is the PATH of programs the agent starts.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env is the default environment of programs started as u, with TERM set
// when term is not empty.
func (u User) Env(term string) []string {
	e := []string{
		"PATH=" + DefaultPath,
		"HOME=" + u.Home,
		"USER=" + u.Name,
		"LOGNAME=" + u.Name,
		"SHELL=" + u.Shell,
		"LANG=C.UTF-8",
	}
	if term != "" {
		e = append(e, "TERM="+term)
	}
	return e
}

// Dir is the working directory for u's programs: the home directory when
// it exists, else /.
func (u User) Dir() string {
	if st, err := os.Stat(u.Home); err == nil && st.IsDir() {
		return u.Home
	}
	return "/"
}

// LookPath finds name in the PATH of env (the program's environment, not
// the agent's, which may have none when it runs as a sandbox's init).
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v // the last one wins, as in the program
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w in PATH", name, exec.ErrNotFound)
}
