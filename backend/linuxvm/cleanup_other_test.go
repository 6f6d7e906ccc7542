//go:build !linux

package linuxvm

func cleanupFixtures() {}
