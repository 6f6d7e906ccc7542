package wslemu

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// session runs a command line in a distribution (the default one when
// name is ""), starting its instance if needed. With execMode argv is run
// directly (--exec); otherwise it is joined into one string for the
// user's shell, "$SHELL -c LINE", as wsl.exe does for "--" and bare
// commands. The program's stdin, stdout and stderr are the client's own,
// byte for byte. The exit status is the program's; a signal's number
// when it was killed (the raw wait status); 1 when the instance was
// terminated under it or the program could not be executed.
func (c *cli) session(name, user, cd string, argv []string, execMode bool) (int, error) {
	var (
		d      distro
		in     instance
		client *os.File
	)
	err := c.st.locked(func() error {
		r, err := c.st.load()
		if err != nil {
			return err
		}
		if name == "" {
			if name = r.Default; name == "" {
				return errf("", "%s", msgNoDistros)
			}
		}
		i, ok := r.find(name)
		if !ok {
			return errNotFound()
		}
		d = r.Distros[i]
		if in, err = c.st.ensureRunning(d); err != nil {
			return err
		}
		client, err = attach(c.st.clientsDir(d.Name))
		return err
	})
	if err != nil {
		return 0, err
	}
	defer client.Close() // leaving: the init counts this client gone

	root := d.rootfs()
	if user == "" {
		user = defaultUser(root)
	}
	pw, ok := lookupUser(root, user)
	if !ok {
		return 0, errf("Wsl/WSL_E_USER_NOT_FOUND", msgUserNotFound)
	}
	if !execMode {
		line := joinCommandLine(argv)
		argv = []string{pw.shell}
		if line != "" {
			argv = append(argv, "-c", line)
		}
	}
	if _, err := resolveExec(root, argv[0]); err != nil {
		fmt.Fprintf(os.Stderr, "<3>WSL (%d) ERROR: CreateProcessParseCommon:863: execvpe(%s) failed: No such file or directory\n", os.Getpid(), argv[0])
		return 1, nil
	}
	wd := pw.home
	if cd != "" && strings.HasPrefix(cd, "/") {
		wd = cd
	}
	if fi, err := os.Stat(filepath.Join(root, wd)); err != nil || !fi.IsDir() {
		wd = "/"
	}
	pid := strconv.Itoa(in.PID)
	nsArgs := []string{"--target", pid, "--mount", "--uts", "--ipc", "--pid", "--root",
		"--wd=/proc/" + pid + "/root" + wd, // opened before entering, through the init's root
		"--setuid", strconv.Itoa(pw.uid), "--setgid", strconv.Itoa(pw.gid), "--"}
	cmd := exec.Command("nsenter", append(nsArgs, argv...)...)
	cmd.Env = sessionEnv(d.Name, pw)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, errf("Wsl/Service/CreateInstance/E_FAIL", "%s (%v)", msgUnspecified, err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	var running bool
	_ = c.st.locked(func() error { _, running = c.st.running(d.Name); return nil })
	switch {
	case !running:
		return 1, nil // the channel closed without an exit status
	case ws.Signaled():
		return int(ws.Signal()), nil
	default:
		return ws.ExitStatus(), nil
	}
}

// attach registers this process as a client of the instance: a file in
// the clients directory, locked for as long as this process lives.
func attach(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
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

// resolveExec finds argv0 as execvpe would inside the distribution.
func resolveExec(root, argv0 string) (string, error) {
	if strings.Contains(argv0, "/") {
		return resolveIn(root, argv0)
	}
	for _, dir := range strings.Split(defaultPath, ":") {
		if p, err := resolveIn(root, path.Join(dir, argv0)); err == nil {
			return p, nil
		}
	}
	return "", os.ErrNotExist
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
