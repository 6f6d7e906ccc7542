package socks5

import "syscall"

var (
	errnoENETUNREACH  error = syscall.ENETUNREACH
	errnoEHOSTUNREACH error = syscall.EHOSTUNREACH
)
