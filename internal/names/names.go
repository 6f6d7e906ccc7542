// Package names holds the rules that names used as file names share, on
// every platform the daemon runs on.
package names

import "strings"

// windowsReserved are device names Windows refuses as file names, with or
// without an extension.
var windowsReserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true,
	"com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true,
	"lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// WindowsReserved reports whether name, in any case and with any
// extension, is a Windows device name such as "con" or "COM1.txt".
func WindowsReserved(name string) bool {
	base, _, _ := strings.Cut(strings.ToLower(name), ".")
	return windowsReserved[base]
}
