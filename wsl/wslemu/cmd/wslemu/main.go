// Command wslemu is a wsl.exe emulator for tests; see package wslemu.
package main

import (
	"os"

	"github.com/velocitty/microvm/wsl/wslemu"
)

func main() { os.Exit(wslemu.Main(os.Args[1:])) }
