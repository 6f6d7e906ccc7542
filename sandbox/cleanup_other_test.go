//go:build !linux

package sandbox

func cleanupTestFiles() {}
