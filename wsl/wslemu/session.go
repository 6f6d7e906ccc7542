//go:build linux

package wslemu

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// session follows the reference's rules for Linux process I/O and exit
// codes. It runs a command line in a distribution (the default one when
// name is ""), starting its instance if needed. With execMode argv is run
// directly (--exec); otherwise it is joined into one string for the
// user's shell, "$SHELL -c LINE", as wsl.exe does for "--" and bare
// commands. The program's stdin, stdout and stderr are the client's own,
// byte for byte. The exit status is the program's; a signal's number
// when it was killed (the raw wait status); 1 when the instance was
// terminated under it or the program could not be executed.
func (c *cli) session(name, user, cd string, argv []string, execMode bool) (int, error) {
	unlock, err := c.st.lockNow()
	if err != nil {
		return 0, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	r, err := c.st.load()
	if err != nil {
		return 0, err
	}
	if name == "" {
		if name = r.Default; name == "" {
			return 0, errf("", "%s", msgNoDistros)
		}
	}
	i, ok := r.find(name)
	if !ok {
		return 0, errNotFound()
	}
	d := r.Distros[i]
	root := d.rootfs()
	if user == "" {
		user = defaultUser(root)
	}
	pw, ok := lookupUser(root, user)
	if !ok {
		return 0, errf("Wsl/WSL_E_USER_NOT_FOUND", msgUserNotFound)
	}
	if _, err := c.st.ensureRunning(d); err != nil {
		return 0, err
	}
	if !execMode {
		line := joinCommandLine(argv)
		argv = []string{pw.shell}
		if line != "" {
			argv = append(argv, "-c", line)
		}
	}
	wd := pw.home
	if cd != "" && strings.HasPrefix(cd, "/") {
		wd = cd
	}
	if fi, err := os.Stat(filepath.Join(root, wd)); err != nil || !fi.IsDir() {
		wd = "/"
	}
	req := sessionRequest{Argv: argv, Env: sessionEnv(d.Name, pw), Dir: wd, UID: pw.uid, GID: pw.gid}
	// The lock is held until init has counted this client, so an idle
	// init cannot exit between the two.
	return runSession(c.st.sockFile(d.Name), req, func() { unlock(); locked = false }), nil
}

type passwd struct {
	name, home, shell string
	uid, gid          int
}

// lookupUser reads the distribution's /etc/passwd.
func lookupUser(root, user string) (passwd, bool) {
	f, err := os.Open(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		if user == "root" {
			return passwd{name: "root", home: "/root", shell: "/bin/sh"}, true
		}
		return passwd{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[0] != user {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return passwd{}, false
		}
		shell := f[6]
		if shell == "" {
			shell = "/bin/sh"
		}
		return passwd{name: f[0], uid: uid, gid: gid, home: f[5], shell: shell}, true
	}
	return passwd{}, false
}

// defaultUser is /etc/wsl.conf's [user] default, else root (imported
// distributions start as root).
func defaultUser(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "etc", "wsl.conf"))
	if err != nil {
		return "root"
	}
	section := ""
	for l := range strings.SplitSeq(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			section = strings.ToLower(strings.Trim(l, "[]"))
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && section == "user" && strings.TrimSpace(k) == "default" {
			return strings.TrimSpace(v)
		}
	}
	return "root"
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// sessionEnv is the environment WSL gives a Linux process: a few fixed
// variables, plus those that WSLENV names (its "/flags" dropped).
func sessionEnv(distro string, pw passwd) []string {
	env := []string{
		"PATH=" + defaultPath, "HOME=" + pw.home, "USER=" + pw.name, "LOGNAME=" + pw.name,
		"SHELL=" + pw.shell, "LANG=C.UTF-8", "HOSTTYPE=x86_64", "WSL_DISTRO_NAME=" + distro,
	}
	if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	for v := range strings.SplitSeq(os.Getenv("WSLENV"), ":") {
		k, _, _ := strings.Cut(v, "/")
		if val, ok := os.LookupEnv(k); ok && k != "" {
			env = append(env, k+"="+val)
		}
	}
	return env
}

// joinCommandLine rebuilds the Windows command line tail from argv with
// the quoting Go uses on Windows (syscall.EscapeArg), which is what the
// shell then receives as one string.
func joinCommandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = escapeArg(a)
	}
	return strings.Join(q, " ")
}

// escapeArg quotes like Go's syscall.EscapeArg: an argument with a space
// or tab is put in double quotes, a double quote is preceded by a
// backslash, and backslashes before a quote (or the closing quote) are
// doubled; anything else passes unchanged.
func escapeArg(s string) string {
	if s == "" {
		return `""`
	}
	space := strings.ContainsAny(s, " \t")
	if !strings.ContainsAny(s, "\"\\") {
		if space {
			return `"` + s + `"`
		}
		return s
	}
	var b strings.Builder
	if space {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	if space {
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}
