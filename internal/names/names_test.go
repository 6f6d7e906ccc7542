package names

import "testing"

func TestWindowsReserved(t *testing.T) {
	for _, n := range []string{"con", "CON", "nul.txt", "Com1", "lpt9.log", "aux"} {
		if !WindowsReserved(n) {
			t.Errorf("%q is a device name", n)
		}
	}
	for _, n := range []string{"console", "com10", "default", "lpt", "nul-vm", "a.con"} {
		if WindowsReserved(n) {
			t.Errorf("%q is not a device name", n)
		}
	}
}
