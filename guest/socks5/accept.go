package socks5

import (
	"errors"
	"syscall"
)

// outOfFiles reports an accept error that passes once descriptors free up.
func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
