package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

// An application finds the daemon through its data directory, starts the
// default VM and points its SSH connections at the VM's SOCKS5 proxy.
func Example() {
	d, err := startDaemon() // a daemon over a fake backend, for this example
	if err != nil {
		log.Fatal(err)
	}
	defer d.stop()
	ctx := context.Background()

	c, err := client.FromDataDir(d.dir) // "" means client.DefaultDataDir()
	if err != nil {
		log.Fatal(err)
	}
	if err := c.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	vm, err := c.StartVM(ctx, "default")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(vm.Name, vm.State, "socks5://"+vm.SocksAddress)

	res, err := c.Exec(ctx, "default", api.ExecRequest{Argv: []string{"echo", "hello from the guest"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res.ExitCode, " ", res.Stdout)
	// Output:
	// default running socks5://127.0.0.1:1080
	// 0 hello from the guest
}

// Errors carry the daemon's problem and match the errdefs classes.
func ExampleError() {
	d, err := startDaemon()
	if err != nil {
		log.Fatal(err)
	}
	defer d.stop()
	ctx := context.Background()
	c, err := client.FromDataDir(d.dir)
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.PauseVM(ctx, "default") // created, never started
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, apiErr.CurrentState)
	}
	fmt.Println(errors.Is(err, errdefs.ErrConflict))

	_, err = c.GetVM(ctx, "nope")
	fmt.Println(errors.Is(err, errdefs.ErrNotFound))
	// Output:
	// 409 invalid_state created
	// true
	// true
}
