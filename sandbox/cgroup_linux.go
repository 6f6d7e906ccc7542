package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/errdefs"
)

// cgroupParent is the directory, under a hierarchy's root, that holds one
// cgroup per box.
const cgroupParent = "microvm"

// useV1Freezer makes new boxes use the v1 freezer even where cgroup v2
// can freeze. Tests set it to cover hybrid hosts without cgroup.freeze.
var useV1Freezer = false

// cgroup is one box's cgroup: a cgroup v2 directory (frozen through
// cgroup.freeze) or a directory of the v1 freezer hierarchy.
type cgroup struct {
	dir string
	v2  bool
}

// openCgroup returns the cgroup at dir, telling v2 from v1 by its files.
func openCgroup(dir string) (*cgroup, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("cgroup %q: not an absolute path: %w", dir, errdefs.ErrInvalid)
	}
	if exists(filepath.Join(dir, "cgroup.freeze")) {
		return &cgroup{dir: dir, v2: true}, nil
	}
	if exists(filepath.Join(dir, "freezer.state")) {
		return &cgroup{dir: dir}, nil
	}
	return nil, fmt.Errorf("cgroup %s: %w", dir, errdefs.ErrNotFound)
}

// createCgroup creates the cgroup for box id. A leftover empty cgroup of
// the same name is reused; one with processes in it means the box runs,
// ErrAlreadyExists.
func createCgroup(id string) (*cgroup, error) {
	parent, err := cgroupParentDir()
	if err != nil {
		return nil, err
	}
	cg := &cgroup{dir: filepath.Join(parent.dir, id), v2: parent.v2}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create cgroup %s: %w", cg.dir, err)
		}
		pids, err := cg.procs()
		if err != nil {
			return nil, err
		}
		if len(pids) > 0 {
			return nil, fmt.Errorf("box %s: cgroup %s has processes: %w", id, cg.dir, errdefs.ErrAlreadyExists)
		}
		// An empty leftover may still be frozen.
		if err := cg.thaw(context.Background()); err != nil {
			return nil, err
		}
	}
	return cg, nil
}

// cgroupParentDir creates (if needed) and returns the directory holding
// the boxes' cgroups: under the cgroup v2 hierarchy when it supports
// freezing (kernel 5.2+: a non-root cgroup lists cgroup.freeze), else
// under the v1 freezer hierarchy.
func cgroupParentDir() (cgroup, error) {
	v2root, freezerRoot, err := cgroupMounts()
	if err != nil {
		return cgroup{}, err
	}
	if v2root != "" && !useV1Freezer {
		dir := filepath.Join(v2root, cgroupParent)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return cgroup{}, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if exists(filepath.Join(dir, "cgroup.freeze")) {
			return cgroup{dir: dir, v2: true}, nil
		}
	}
	if freezerRoot != "" {
		dir := filepath.Join(freezerRoot, cgroupParent)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return cgroup{}, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		return cgroup{dir: dir}, nil
	}
	return cgroup{}, fmt.Errorf("no cgroup hierarchy that can freeze (cgroup v2 on kernel 5.2+, or the v1 freezer): %w", errdefs.ErrUnavailable)
}

// CgroupAvailable reports nil when boxes can get a cgroup that freezes,
// or an ErrUnavailable error saying what is missing. It may create the
// directory that holds the boxes' cgroups.
func CgroupAvailable() error {
	_, err := cgroupParentDir()
	return err
}

// cgroupMounts finds the cgroup v2 mount and the v1 freezer mount, either
// of which may be absent.
func cgroupMounts() (v2root, freezerRoot string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", fmt.Errorf("find cgroup mounts: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			if v2root == "" {
				v2root = pf[4]
			}
		case "cgroup":
			for _, o := range strings.Split(qf[2], ",") {
				if o == "freezer" && freezerRoot == "" {
					freezerRoot = pf[4]
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", fmt.Errorf("find cgroup mounts: %w", err)
	}
	return v2root, freezerRoot, nil
}

// join moves process pid (with all its threads) into the cgroup.
func (c *cgroup) join(pid int) error {
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("move process %d into cgroup %s: %w", pid, c.dir, err)
	}
	return nil
}

// procs lists the processes in the cgroup. A removed cgroup has none.
func (c *cgroup) procs() ([]int, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list cgroup %s: %w", c.dir, err)
	}
	var pids []int
	for _, f := range bytes.Fields(data) {
		pid, err := strconv.Atoi(string(f))
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", c.dir, errors.Join(errdefs.ErrInternal, err))
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

func (c *cgroup) empty() (bool, error) {
	pids, err := c.procs()
	return len(pids) == 0, err
}

// frozen reads the kernel's view: cgroup.events "frozen 1" on v2,
// freezer.state FROZEN on v1 (FREEZING is not frozen yet).
func (c *cgroup) frozen() (bool, error) {
	if c.v2 {
		data, err := os.ReadFile(filepath.Join(c.dir, "cgroup.events"))
		if err != nil {
			return false, fmt.Errorf("read cgroup %s events: %w", c.dir, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if k, v, _ := strings.Cut(sc.Text(), " "); k == "frozen" {
				return v == "1", nil
			}
		}
		return false, fmt.Errorf("read cgroup %s events: no frozen key: %w", c.dir, errdefs.ErrInternal)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, "freezer.state"))
	if err != nil {
		return false, fmt.Errorf("read cgroup %s freezer state: %w", c.dir, err)
	}
	return strings.TrimSpace(string(data)) == "FROZEN", nil
}

// setFrozen asks the kernel to freeze or thaw the cgroup and waits until
// it reports the new state.
func (c *cgroup) setFrozen(ctx context.Context, freeze bool) error {
	file, value := "freezer.state", "THAWED"
	if freeze {
		value = "FROZEN"
	}
	if c.v2 {
		file, value = "cgroup.freeze", "0"
		if freeze {
			value = "1"
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, file), []byte(value), 0); err != nil {
		return fmt.Errorf("write %s to %s: %w", value, filepath.Join(c.dir, file), err)
	}
	return poll(ctx, "wait for cgroup "+c.dir+" to reach "+value, func() (bool, error) {
		got, err := c.frozen()
		return got == freeze, err
	})
}

func (c *cgroup) freeze(ctx context.Context) error { return c.setFrozen(ctx, true) }
func (c *cgroup) thaw(ctx context.Context) error   { return c.setFrozen(ctx, false) }

// kill sends SIGKILL to every process in the cgroup and waits until it is
// empty. With cgroup.kill (v2, kernel 5.14+) the kernel does it atomically;
// otherwise the cgroup is frozen first so no process can fork away from
// the signals, then thawed so the frozen processes can die.
func (c *cgroup) kill(ctx context.Context) error {
	if c.v2 && exists(filepath.Join(c.dir, "cgroup.kill")) {
		if err := os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("kill cgroup %s: %w", c.dir, err)
		}
	} else if empty, err := c.empty(); err != nil || !empty {
		if err := c.freeze(ctx); err != nil {
			return err
		}
		pids, err := c.procs()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("kill process %d of cgroup %s: %w", pid, c.dir, err)
			}
		}
		if err := c.thaw(ctx); err != nil {
			return err
		}
	}
	return poll(ctx, "wait for cgroup "+c.dir+" to empty", c.empty)
}

// remove deletes the cgroup once it is empty. A missing cgroup is fine.
func (c *cgroup) remove(ctx context.Context) error {
	return poll(ctx, "remove cgroup "+c.dir, func() (bool, error) {
		err := unix.Rmdir(c.dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return true, nil
		case errors.Is(err, unix.EBUSY):
			return false, nil // exiting processes still leave
		default:
			return false, fmt.Errorf("remove cgroup %s: %w", c.dir, err)
		}
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
