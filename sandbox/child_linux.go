package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The helper roles, told apart by argv[0] so that a caller's Env on a
// Command never hides them.
const (
	argv0Init  = "microvm-sandbox-init"
	argv0Enter = "microvm-sandbox-enter"
)

// Descriptors the init helper inherits: the config to read and the
// status pipe, which closes on exec (success) or carries an error.
const (
	fdConfig = 3
	fdStatus = 4
)

// defaultPath is the PATH used to find argv[0] when Env has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// IsChild reports whether this process was started as one of the
// package's helper roles; if so, call ChildMain before anything else.
func IsChild() bool {
	switch filepath.Base(os.Args[0]) {
	case argv0Init, argv0Enter:
		return true
	}
	return false
}

// ChildMain runs the helper role this process was started for. It never
// returns: it either execs the box's program or exits with status 1.
func ChildMain() {
	var err error
	switch filepath.Base(os.Args[0]) {
	case argv0Init:
		err = initMain()
		// Tell the starter why; the status pipe is still open.
		status := os.NewFile(fdStatus, "status")
		fmt.Fprintf(status, "%v", err)
	case argv0Enter:
		err = enterMain(os.Args[1:])
	default:
		err = fmt.Errorf("unknown helper role %q", os.Args[0])
	}
	fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
	os.Exit(1)
}

// initMain runs as PID 1 of the box's new namespaces: it prepares the root
// file system and execs the box's program in place of itself.
func initMain() error {
	unix.CloseOnExec(fdStatus)
	f := os.NewFile(fdConfig, "config")
	var cfg Config
	err := json.NewDecoder(f).Decode(&cfg)
	f.Close()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := setupRoot(cfg); err != nil {
		return err
	}
	env := cfg.Env
	if env == nil {
		env = []string{"PATH=" + defaultPath}
	}
	path, err := lookPath(cfg.Argv[0], env)
	if err != nil {
		return err
	}
	if err := syscall.Exec(path, cfg.Argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

// lookPath finds name in the PATH of env, inside the (already pivoted) root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: not found in PATH %s", name, path)
}

// enterMain joins the box's cgroup, then execs nsenter to run a program in
// the box's namespaces and root. args: cgroup dir, nsenter path, target
// PID, "--", argv...
func enterMain(args []string) error {
	if len(args) < 5 || args[3] != "--" {
		return fmt.Errorf("enter: bad arguments %q", args)
	}
	cgroupDir, nsenter, pid, argv := args[0], args[1], args[2], args[4:]
	if cgroupDir != "" {
		err := os.WriteFile(filepath.Join(cgroupDir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
		if err != nil {
			return fmt.Errorf("enter: join cgroup %s: %w", cgroupDir, err)
		}
	}
	nsargv := append([]string{"nsenter", "--target", pid, "--mount", "--uts", "--ipc", "--pid", "--root", "--wd", "--"}, argv...)
	if err := syscall.Exec(nsenter, nsargv, os.Environ()); err != nil {
		return fmt.Errorf("enter: exec %s: %w", nsenter, err)
	}
	return nil
}
