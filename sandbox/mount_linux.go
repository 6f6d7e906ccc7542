package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// hostDevices are bind-mounted from the host's /dev into the box's /dev.
// Bind mounts work wherever mknod is refused (a device cgroup, a nested
// container), and the nodes keep the host's permissions.
var hostDevices = []string{"null", "zero", "full", "random", "urandom", "tty", "net/tun"}

// setupRoot runs inside the new mount namespace, before the box's program:
// it makes every mount private, mounts fresh /proc, /sys, /dev, /tmp and
// /run in the root file system, copies the host's DNS configuration, sets
// the host name and pivots into the root.
func setupRoot(cfg Config) error {
	root := cfg.RootFS
	// Nothing mounted from here on may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s onto itself: %w", root, err)
	}
	const nse = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	mounts := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{
		{"proc", "proc", "proc", nse, ""},
		// A fresh sysfs, read-only: it shows the host's network devices,
		// which the box shares; nothing in the guest writes /sys.
		{"sysfs", "sys", "sysfs", nse | unix.MS_RDONLY, ""},
		{"tmpfs", "dev", "tmpfs", unix.MS_NOSUID, "mode=755,size=64k"},
		{"devpts", "dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"tmpfs", "dev/shm", "tmpfs", nse, "mode=1777"},
		{"mqueue", "dev/mqueue", "mqueue", nse, ""},
		{"tmpfs", "tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=755"},
	}
	for _, m := range mounts {
		target := filepath.Join(root, m.target)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
		if err := unix.Mount(m.src, target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s on /%s: %w", m.fstype, m.target, err)
		}
		if m.target == "dev" {
			if err := populateDev(target); err != nil {
				return err
			}
		}
	}
	if err := copyResolvConf(root); err != nil {
		return err
	}
	if err := setHostname(root, cfg.Hostname); err != nil {
		return err
	}
	return pivot(root)
}

// populateDev fills the box's fresh /dev.
func populateDev(dev string) error {
	for _, name := range hostDevices {
		src := "/dev/" + name
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue // e.g. no tun module on this host
		}
		dst := filepath.Join(dev, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
		f.Close()
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
	}
	links := [][2]string{
		{"pts/ptmx", "ptmx"},
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return fmt.Errorf("link /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// copyResolvConf gives the box the host's DNS configuration. Since the
// box shares the host's network, even a local stub resolver works. The
// file is copied, not bound, so the guest may rewrite its own.
func copyResolvConf(root string) error {
	data, err := os.ReadFile("/etc/resolv.conf")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read host resolv.conf: %w", err)
	}
	return replaceFile(filepath.Join(root, "etc/resolv.conf"), data)
}

// setHostname sets the UTS namespace's host name and writes /etc/hostname
// and /etc/hosts to match, as WSL does for its distros.
func setHostname(root, name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("set hostname %q: %w", name, err)
	}
	if err := replaceFile(filepath.Join(root, "etc/hostname"), []byte(name+"\n")); err != nil {
		return err
	}
	hosts := "127.0.0.1\tlocalhost\n127.0.1.1\t" + name + "\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	return replaceFile(filepath.Join(root, "etc/hosts"), []byte(hosts))
}

// replaceFile writes data to path, replacing a symlink rather than
// following it out of the root.
func replaceFile(path string, data []byte) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("replace %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// pivot makes root the root of the mount namespace and detaches the old
// one, so none of the host's mounts stay reachable.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one;
	// unmounting "." then leaves the new root alone, with no directory
	// needed for the old root.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}
