package wsl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

// EnvExe names the environment variable that overrides the wsl.exe
// program, which is how tests plug in the emulator.
const EnvExe = "MICROVM_WSL_EXE"

// Default bounds of a wsl.exe call and of an import, which unpacks the
// whole guest image.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultImportTimeout = 10 * time.Minute
)

// Runner runs wsl.exe. The zero value is not usable: use NewRunner.
type Runner struct {
	exe           string
	timeout       time.Duration
	importTimeout time.Duration
	log           *slog.Logger
}

// NewRunner returns a Runner for exe; "" means $MICROVM_WSL_EXE, else
// wsl.exe found on PATH when the call is made. A zero timeout means
// DefaultTimeout.
func NewRunner(exe string, timeout time.Duration, log *slog.Logger) *Runner {
	if exe == "" {
		exe = os.Getenv(EnvExe)
	}
	if exe == "" {
		exe = "wsl.exe"
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{exe: exe, timeout: timeout, importTimeout: DefaultImportTimeout, log: log}
}

// WithImportTimeout returns a runner like r whose "wsl --import" may take
// up to d (default DefaultImportTimeout); every other call keeps r's
// timeout.
func (r *Runner) WithImportTimeout(d time.Duration) *Runner {
	c := *r
	if d > 0 {
		c.importTimeout = d
	}
	return &c
}

// Exe is the program the runner starts.
func (r *Runner) Exe() string { return r.exe }

// Run runs a wsl.exe management command (list, import, terminate, ...)
// and returns its decoded text output. A failure is an *Error.
func (r *Runner) Run(ctx context.Context, args ...string) (string, error) {
	return r.runText(ctx, r.timeout, args)
}

func (r *Runner) runText(ctx context.Context, timeout time.Duration, args []string) (string, error) {
	stdout, stderr, code, err := r.run(ctx, timeout, nil, args)
	if err != nil {
		return "", err
	}
	out := decodeText(stdout)
	if code != 0 {
		return out, &Error{Argv: r.argv(args), Output: joinOutput(out, decodeText(stderr)), Code: errorCode(out), ExitCode: code}
	}
	return out, nil
}

// Exec runs argv directly (wsl.exe --exec, never through a shell) in
// distro as user, with stdin when it is not nil, and returns the
// program's raw stdout and stderr. When wsl.exe itself fails the error is
// an *Error with a Code; when the program exits non-zero it is an *Error
// with an empty Code and the program's exit code.
func (r *Runner) Exec(ctx context.Context, distro, user string, stdin io.Reader, argv ...string) (stdout, stderr []byte, err error) {
	if len(argv) == 0 {
		return nil, nil, fmt.Errorf("wsl exec in %s: %w", distro, errdefs.Invalidf("argv", "empty"))
	}
	args := ExecArgs(distro, user, argv...)
	stdout, stderr, code, err := r.run(ctx, r.timeout, stdin, args)
	if err != nil {
		return nil, nil, err
	}
	if code != 0 {
		e := &Error{Argv: r.argv(args), ExitCode: code}
		out := decodeText(stdout)
		if c := errorCode(out); c != "" && isWSLFailure(code) {
			e.Code, e.Output = c, joinOutput(out, decodeText(stderr))
		} else {
			e.Output = joinOutput(string(stdout), string(stderr))
		}
		return stdout, stderr, e
	}
	return stdout, stderr, nil
}

// ExecArgs is the wsl.exe argument list that runs argv in distro as user
// with --exec semantics: argv reaches execvpe unchanged, no shell parses it.
func ExecArgs(distro, user string, argv ...string) []string {
	args := []string{"--distribution", distro}
	if user != "" {
		args = append(args, "--user", user)
	}
	return append(append(args, "--exec"), argv...)
}

// isWSLFailure reports whether code is how a wsl.exe failure (-1) shows
// up: -1 normalized, or 255 from a POSIX implementation.
func isWSLFailure(code int) bool { return code == -1 || code == 255 }

// checkArgs refuses calls this package must never make. "wsl --shutdown"
// stops every distribution and the utility VM, Docker Desktop's and the
// user's included.
func checkArgs(args []string) error {
	for _, a := range args {
		switch strings.ToLower(a) {
		case "-e", "--exec", "--":
			return nil
		case "--shutdown":
			return fmt.Errorf("wsl %s: refusing: it stops every WSL distribution, not only ours; use --terminate: %w",
				strings.Join(args, " "), errdefs.ErrInvalid)
		}
	}
	return nil
}

func (r *Runner) argv(args []string) []string { return append([]string{r.exe}, args...) }

// run starts wsl.exe and waits under the runner's deadline. err reports
// only a failure to run or a timeout; a non-zero exit is returned as code.
func (r *Runner) run(ctx context.Context, timeout time.Duration, stdin io.Reader, args []string) (stdout, stderr []byte, code int, err error) {
	if err := checkArgs(args); err != nil {
		return nil, nil, 0, err
	}
	// The caller's deadline may be far off; a hung wsl.exe must not hold
	// it that long, so the runner's own timeout applies too.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var outBuf, errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, r.exe, args...)
	cmd.Env = append(os.Environ(), "WSL_UTF8=1")
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	cmd.SysProcAttr = callAttr()
	cmd.Cancel = func() error { return killTree(cmd) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	r.log.DebugContext(ctx, "wsl_exe", "args", args, "duration", time.Since(start), "err", runErr)
	if ctxErr := ctx.Err(); ctxErr != nil {
		op := fmt.Sprintf("%s %s", r.exe, strings.Join(args, " "))
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return nil, nil, 0, fmt.Errorf("%s: no answer in time: %w; %s", op, errdefs.ErrTimeout, hintHung)
		}
		return nil, nil, 0, fmt.Errorf("%s: %w", op, ctxErr)
	}
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
		return outBuf.Bytes(), errBuf.Bytes(), 0, nil
	case errors.As(runErr, &exitErr):
		return outBuf.Bytes(), errBuf.Bytes(), normalizeExit(exitErr.ExitCode()), nil
	case errors.Is(runErr, exec.ErrNotFound), errors.Is(runErr, os.ErrNotExist):
		return nil, nil, 0, fmt.Errorf("run %s: %w: WSL is not installed (%v); %s",
			r.exe, errdefs.ErrUnavailable, runErr, hintNotInstalled)
	default:
		return nil, nil, 0, fmt.Errorf("run %s %s: %w", r.exe, strings.Join(args, " "), runErr)
	}
}

// normalizeExit maps Windows' unsigned view of -1 back to -1.
func normalizeExit(code int) int {
	if code == 0xFFFFFFFF {
		return -1
	}
	return code
}

func joinOutput(stdout, stderr string) string {
	stdout, stderr = strings.TrimSpace(stdout), strings.TrimSpace(stderr)
	if stderr == "" {
		return stdout
	}
	if stdout == "" {
		return stderr
	}
	return stdout + "\n" + stderr
}
