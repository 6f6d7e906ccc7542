// Package machineinfo describes the machine a benchmark or a reliability
// run happened on, so that its numbers can be read in context.
package machineinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Describe returns one human-readable line per fact: CPU, memory, kernel,
// distribution, Go, and the load when the description was taken.
func Describe() []string {
	lines := []string{
		fmt.Sprintf("CPU: %s, %d logical CPUs", cpuModel(), runtime.NumCPU()),
		"Memory: " + memTotal(),
		"Kernel: " + firstLine("/proc/sys/kernel/osrelease"),
		"OS: " + osRelease(),
		"Go: " + runtime.Version(),
	}
	if load := firstLine("/proc/loadavg"); load != "" {
		lines = append(lines, "Load average at start (1/5/15 min): "+strings.Join(strings.Fields(load)[:3], " "))
	}
	return lines
}

// ToolVersions returns "name version" for each program that answers its
// version flag, for the peers a benchmark compares against.
func ToolVersions(progs ...string) []string {
	var out []string
	for _, p := range progs {
		if v := toolVersion(p); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func toolVersion(prog string) string {
	switch prog {
	case "microsocks":
		// microsocks has no version flag; its Debian package does.
		b, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "microsocks").Output()
		if err != nil {
			return ""
		}
		return "microsocks " + string(b)
	case "openvpn":
		b, _ := exec.Command("openvpn", "--version").Output()
		f := strings.Fields(string(firstOf(b)))
		if len(f) < 2 {
			return ""
		}
		return "openvpn " + f[1]
	default:
		b, err := exec.Command(prog, "--version").CombinedOutput()
		if err != nil && len(b) == 0 {
			return ""
		}
		// "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/..." -> "curl 7.88.1"
		f := strings.Fields(string(firstOf(b)))
		if len(f) < 2 {
			return ""
		}
		return f[0] + " " + f[1]
	}
}

func firstOf(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(firstOf(b)))
}

func cpuModel() string {
	return field("/proc/cpuinfo", "model name", ":")
}

func memTotal() string {
	v := field("/proc/meminfo", "MemTotal", ":")
	var kb int64
	if _, err := fmt.Sscanf(v, "%d", &kb); err != nil {
		return v
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func osRelease() string {
	v := field("/etc/os-release", "PRETTY_NAME", "=")
	return strings.Trim(v, `"`)
}

// field returns the value of the first "key<sep>value" line of a file.
func field(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
