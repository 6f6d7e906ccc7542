package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

func completionCommand() *command {
	return &command{
		name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", complete: argShell,
		help: `Completes commands and flags, and VM and profile names by asking the daemon.

Examples:
  source <(microvm-api completion bash)                     # in ~/.bashrc
  microvm-api completion zsh > "${fpath[1]}/_microvm-api"   # then restart zsh
  microvm-api completion fish > ~/.config/fish/completions/microvm-api.fish`,
		setup: func(e *env, fs *flag.FlagSet) action {
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want one shell: bash, zsh or fish")
				}
				entries := completions(root(), "", e)
				switch args[0] {
				case "bash":
					writeBash(e.stdout, entries, false)
				case "zsh":
					writeBash(e.stdout, entries, true)
				case "fish":
					writeFish(e.stdout, entries)
				default:
					return usagef("unknown shell %q: use bash, zsh or fish", args[0])
				}
				return nil
			}
		},
	}
}

// compEntry is what completes after one command path.
type compEntry struct {
	path  string // "" for the top level, "vm start", ...
	subs  []string
	flags []string // with their dashes
	kind  string   // what positional arguments are
}

func completions(cmd *command, path string, e *env) []compEntry {
	ent := compEntry{path: path, kind: cmd.complete}
	for _, s := range cmd.sub {
		ent.subs = append(ent.subs, s.name)
	}
	if path == "" {
		ent.subs = append(ent.subs, "serve", "version", "help")
	}
	if cmd.setup != nil {
		fs := flag.NewFlagSet(path, flag.ContinueOnError)
		cmd.setup(&env{stdin: e.stdin, stdout: io.Discard, stderr: io.Discard}, fs)
		fs.VisitAll(func(f *flag.Flag) { ent.flags = append(ent.flags, "--"+f.Name) })
	}
	ent.flags = append(ent.flags, "--help")
	out := []compEntry{ent}
	for _, s := range cmd.sub {
		out = append(out, completions(s, strings.TrimSpace(path+" "+s.name), e)...)
	}
	return out
}

// writeBash writes a bash completion function; zsh loads it through its
// bash compatibility layer.
func writeBash(w io.Writer, entries []compEntry, zsh bool) {
	if zsh {
		fmt.Fprint(w, "#compdef microvm-api\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	fmt.Fprint(w, `# bash completion for microvm-api
_microvm_api() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path="" cand w i words="" flags="" kind=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    cand=${path:+$path }$w
    case "$cand" in
`)
	var paths []string
	for _, e := range entries {
		if e.path != "" {
			paths = append(paths, `"`+e.path+`"`)
		}
	}
	fmt.Fprintf(w, "      %s) path=$cand ;;\n    esac\n  done\n", strings.Join(paths, "|"))
	fmt.Fprint(w, "  case \"$path\" in\n")
	for _, e := range entries {
		fmt.Fprintf(w, "    %q) words=%q; flags=%q; kind=%q ;;\n", e.path, strings.Join(e.subs, " "), strings.Join(e.flags, " "), e.kind)
	}
	fmt.Fprint(w, `  esac
  case "$prev" in
    --vm) COMPREPLY=($(compgen -W "$(microvm-api vm ls --names 2>/dev/null)" -- "$cur")); return ;;
    --data-dir|--token-file|--dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    words=$flags
  else
    case "$kind" in
      vm) words="$words $(microvm-api vm ls --names 2>/dev/null)" ;;
      profile) words="$words $(microvm-api vpn profile ls --names 2>/dev/null)" ;;
      shell) words="$words bash zsh fish" ;;
      file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _microvm_api microvm-api
`)
}

func writeFish(w io.Writer, entries []compEntry) {
	fmt.Fprint(w, `# fish completion for microvm-api
function __microvm_api_path
    set -l path
    for w in (commandline -opc)[2..-1]
        string match -q -- '-*' $w; and continue
        set -l cand (string join ' ' $path $w)
        contains -- $cand $__microvm_api_paths; and set path $cand
    end
    string join ' ' $path
end
function __microvm_api_at
    test (__microvm_api_path) = "$argv[1]"
end
complete -c microvm-api -f
`)
	var paths []string
	for _, e := range entries {
		if e.path != "" {
			paths = append(paths, fmt.Sprintf("'%s'", e.path))
		}
	}
	fmt.Fprintf(w, "set -g __microvm_api_paths %s\n", strings.Join(paths, " "))
	for _, e := range entries {
		cond := fmt.Sprintf("-n '__microvm_api_at %q'", e.path)
		if len(e.subs) > 0 {
			fmt.Fprintf(w, "complete -c microvm-api %s -a '%s'\n", cond, strings.Join(e.subs, " "))
		}
		for _, f := range e.flags {
			fmt.Fprintf(w, "complete -c microvm-api %s -l %s\n", cond, strings.TrimPrefix(f, "--"))
		}
		switch e.kind {
		case argVM:
			fmt.Fprintf(w, "complete -c microvm-api %s -a '(microvm-api vm ls --names 2>/dev/null)'\n", cond)
		case argProfile:
			fmt.Fprintf(w, "complete -c microvm-api %s -a '(microvm-api vpn profile ls --names 2>/dev/null)'\n", cond)
		case argShell:
			fmt.Fprintf(w, "complete -c microvm-api %s -a 'bash zsh fish'\n", cond)
		case argFile:
			fmt.Fprintf(w, "complete -c microvm-api %s -F\n", cond)
		}
	}
}
