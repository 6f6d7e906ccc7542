package cli

import "flag"

// root is the command tree. serve and version are handled by main before
// it; they are listed in the help so that it describes the whole program.
func root() *command {
	return &command{
		name:    "microvm-api",
		summary: "Run small Linux guests with a SOCKS5 proxy, optionally behind OpenVPN, and manage them.",
		help: `Daemon commands (handled before the ones above):
  serve        run the daemon (microvm-api serve --help)
  version      print the version

The commands above talk to a running daemon, found through its data
directory's api.json (--data-dir), or --url with --token-file, or the
environment variables MICROVM_URL and MICROVM_TOKEN.

Exit status: 0 success; 1 the operation failed; 2 bad command line;
3 the daemon is not running or cannot be reached; vm exec and shell exit
with the status of the guest's program.

Examples:
  microvm-api vm start                  # start the VM named "default"
  microvm-api vpn profile add work work.ovpn --username alice
  microvm-api vpn connect work
  microvm-api shell
  source <(microvm-api completion bash)`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			return nil
		},
		sub: []*command{vmCommand(), vpnCommand(), shellCommand(), logsCommand(), eventsCommand(),
			consoleCommand(), completionCommand()},
	}
}
