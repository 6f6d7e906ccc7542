//go:build linux

package wslemu

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// nameRE is the service's name rule (s_ValidateDistroName).
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,256}$`)

// importCmd implements --import NAME DIR FILE [--version 1|2] [--vhd]
// with the checks of the reference's --import section: the name rule, a
// VHD file without --vhd, the file and the directory's parent existing,
// duplicate name or location, a non-recursive directory creation undone
// on failure, and a valid Linux tree (/etc or /bin/sh) after extraction.
// The first distribution imported becomes the default.
func (c *cli) importCmd(args []string) (int, error) {
	if len(args) < 3 {
		return 0, errf("", msgMissingParam, "--import")
	}
	name, dir, file := args[0], args[1], args[2]
	version := 2
	for i := 3; i < len(args); i++ {
		switch args[i] {
		case "--version":
			if i+1 >= len(args) {
				return 0, errf("", msgMissingParam, "--version")
			}
			i++
			switch args[i] {
			case "1":
				version = 1
			case "2":
				version = 2
			default:
				return 0, errf("Wsl/ERROR_VERSION_PARSE_ERROR", "The version string could not be parsed.")
			}
		case "--vhd":
			return 0, errf("Wsl/Service/RegisterDistro/E_NOTIMPL", "Not implemented")
		default:
			return 0, errf("", msgInvalidArg, args[i])
		}
	}
	if !nameRE.MatchString(name) || strings.EqualFold(name, "Legacy") {
		return 0, errf("Wsl/Service/RegisterDistro/E_INVALIDARG", msgInvalidName, name)
	}
	if ext := strings.ToLower(filepath.Ext(file)); ext == ".vhd" || ext == ".vhdx" {
		return 0, errf("", msgPassVhd)
	}
	if file != "-" {
		if _, err := os.Stat(file); err != nil {
			return 0, errf("Wsl/ERROR_FILE_NOT_FOUND", msgFileNotFound)
		}
	}
	dir, _ = filepath.Abs(dir)
	if _, err := os.Stat(filepath.Dir(dir)); err != nil {
		return 0, errf("Wsl/ERROR_PATH_NOT_FOUND", msgPathNotFound)
	}
	err := c.st.locked(func() error {
		r, err := c.st.load()
		if err != nil {
			return err
		}
		if _, dup := r.find(name); dup {
			return errf("Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS", msgNameExists)
		}
		for _, d := range r.Distros {
			if d.BasePath == dir {
				return errf("Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS", msgPathInUse)
			}
		}
		if version == 2 {
			switch os.Getenv(EnvFault) {
			case "no-virtualization", "wsl1-only":
				return errf("Wsl/Service/RegisterDistro/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED", msgEnableVirt)
			}
		}
		created := false
		if err := os.Mkdir(dir, 0o755); err == nil {
			created = true
		} else if !errors.Is(err, fs.ErrExist) {
			return errf("Wsl/ERROR_PATH_NOT_FOUND", msgPathNotFound)
		}
		d := distro{Name: name, BasePath: dir, Version: version}
		if err := extract(file, d.rootfs()); err != nil {
			os.RemoveAll(d.rootfs())
			if created {
				os.Remove(dir)
			}
			return err
		}
		r.Distros = append(r.Distros, d)
		if r.Default == "" {
			r.Default = name
		}
		return c.st.save(r)
	})
	if err != nil {
		return 0, err
	}
	c.out.line(msgOK)
	return 0, nil
}

// extract unpacks the tarball (plain or compressed; "-" is stdin) into
// root and checks that the result looks like a Linux distribution.
func extract(file, root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return errf("Wsl/Service/RegisterDistro/E_FAIL", msgUnspecified)
	}
	cmd := exec.Command("tar", "-x", "-p", "--numeric-owner", "-f", file, "-C", root)
	if file == "-" {
		cmd.Stdin = os.Stdin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		return errf("Wsl/Service/RegisterDistro/E_FAIL", msgUnspecified)
	}
	_, etcErr := os.Lstat(filepath.Join(root, "etc"))
	_, shErr := resolveIn(root, "/bin/sh")
	if etcErr != nil && shErr != nil {
		return errf("Wsl/Service/RegisterDistro/WSL_E_NOT_A_LINUX_DISTRO", msgNotLinux)
	}
	return nil
}

// resolveIn resolves p inside root, following symbolic links as the
// distribution would see them (absolute targets start again at root),
// and returns the host path of an existing file.
func resolveIn(root, p string) (string, error) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	cur := root
	for links := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if cur != root {
				cur = filepath.Dir(cur)
			}
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", errors.New("too many links")
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = root
		}
		parts = append(strings.Split(strings.Trim(target, "/"), "/"), parts...)
	}
	return cur, nil
}
