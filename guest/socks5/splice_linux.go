package socks5

import (
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
)

// spliceChunk is the most one splice call moves, and the size asked of
// each pipe.
const spliceChunk = 1 << 20

// copyConn moves src to dst until src ends, through a pipe with splice(2),
// as io.Copy between two *net.TCPConn does, and past bulkAfter bytes
// through a bulk buffer when one is free (bulk_linux.go); ok is false when
// either side has no descriptor, and then nothing was read.
//
// Unlike io.Copy it calls splice as a raw system call. Every call is
// non-blocking, so the runtime need not treat it as one that may block:
// on a guest's one or two CPUs, marking each call as a blocking one let the
// runtime's monitor hand the processor to another thread while the call
// ran, which cost a thread wake-up per call and showed as more CPU per
// byte and per connection. Waiting is still done by the network poller.
func copyConn(dst, src net.Conn) (n int64, ok bool, err error) {
	sc, ok1 := src.(syscall.Conn)
	dc, ok2 := dst.(syscall.Conn)
	if !ok1 || !ok2 {
		return 0, false, nil
	}
	sr, err1 := sc.SyscallConn()
	dr, err2 := dc.SyscallConn()
	if err1 != nil || err2 != nil {
		return 0, false, nil
	}
	p := getPipe()
	if p == nil {
		return 0, false, nil
	}
	defer putPipe(p)
	nextBulk := int64(bulkAfter)
	for {
		if n >= nextBulk {
			// A long transfer: go on through a bulk buffer if one is free.
			if buf, put := takeBulk(); buf != nil {
				defer put()
				m, err := copyBulk(dst, src, buf)
				return n + m, true, err
			}
			nextBulk = n + bulkRetry
		}
		var m int
		var serr error
		if err := sr.Read(func(fd uintptr) bool {
			m, serr = rawSplice(int(fd), p.w, spliceChunk)
			return serr != syscall.EAGAIN
		}); err != nil {
			return n, true, err
		}
		if serr != nil {
			return n, true, serr
		}
		if m == 0 {
			return n, true, nil // end of stream
		}
		p.data += m
		if err := dr.Write(func(fd uintptr) bool {
			for p.data > 0 {
				k, e := rawSplice(p.r, int(fd), p.data)
				if k > 0 {
					p.data -= k
					n += int64(k)
					continue
				}
				if e == syscall.EAGAIN {
					return false
				}
				serr = e
				if e == nil {
					serr = io.ErrShortWrite // an empty pipe that held data
				}
				return true
			}
			return true
		}); err != nil {
			return n, true, err
		}
		if serr != nil {
			return n, true, serr
		}
	}
}

// rawSplice moves up to max bytes from in to out without blocking.
func rawSplice(in, out, max int) (int, error) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(max), spliceNonblock|spliceMove)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return 0, e
		}
		return int(n), nil
	}
}

const (
	spliceMove     = 0x1 // SPLICE_F_MOVE
	spliceNonblock = 0x2 // SPLICE_F_NONBLOCK
)

// kpipe is a pipe used to splice between two sockets; data is what it
// holds, which must be 0 for it to go back to the pool.
type kpipe struct {
	r, w    int
	data    int
	cleanup runtime.Cleanup
}

var pipes = sync.Pool{New: func() any {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return nil
	}
	// A bigger pipe moves more per call; refused is fine (the default
	// is 64 KiB).
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), syscall.F_SETPIPE_SZ, spliceChunk)
	p := &kpipe{r: fds[0], w: fds[1]}
	p.cleanup = runtime.AddCleanup(p, closePipe, fds)
	return p
}}

func getPipe() *kpipe {
	p, _ := pipes.Get().(*kpipe)
	return p
}

// putPipe returns p to the pool, or closes it when data is stuck in it.
func putPipe(p *kpipe) {
	if p.data != 0 {
		p.cleanup.Stop()
		closePipe([2]int{p.r, p.w})
		return
	}
	pipes.Put(p)
}

func closePipe(fds [2]int) {
	syscall.Close(fds[0])
	syscall.Close(fds[1])
}
