package linuxvm

import "os"

func cleanupFixtures() {
	if fx.dir != "" {
		os.RemoveAll(fx.dir)
	}
}
