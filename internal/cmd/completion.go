package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		UsageText: "plugctl completion bash|zsh|fish\n\n" +
			"source <(plugctl completion bash)                 # in ~/.bashrc\n" +
			"source <(plugctl completion zsh)                  # in ~/.zshrc\n" +
			"plugctl completion fish > ~/.config/fish/completions/plugctl.fish",
		Description: "completion prints a script that makes the shell complete plugctl's\n" +
			"commands, flags and plugin kinds. The bash and zsh scripts ask plugctl\n" +
			"itself what to complete, so they stay right as plugctl changes; the fish\n" +
			"script lists the commands and flags of this version.",
		OnUsageError: onUsageError,
		// "help" is plugctl's command; here it would shadow an argument.
		HideHelpCommand: true,
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				fmt.Fprintln(c.App.Writer, "bash\nzsh\nfish")
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion", "want one shell: bash, zsh or fish")
			}
			switch shell := c.Args().First(); shell {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, script)
			default:
				return usagef("completion", "unknown shell %q: plugctl completes bash, zsh and fish", shell)
			}
			return nil
		},
	}
}

// The bash and zsh scripts call plugctl with urfave/cli's completion flag
// last; plugctl prints the candidates for the word being completed.
const (
	bashCompletion = `# bash completion for plugctl: source <(plugctl completion bash)
_plugctl_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}"
	local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	local opts
	if [[ "$cur" == -* ]]; then
		opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _plugctl_complete plugctl
`
	zshCompletion = `#compdef plugctl
# zsh completion for plugctl: source <(plugctl completion zsh)
_plugctl() {
	local -a opts
	local cur=${words[-1]}
	if [[ "$cur" == -* ]]; then
		opts=("${(@f)$(${words[@]:0:#words[@]-1} $cur --generate-bash-completion 2>/dev/null)}")
	else
		opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ -n "${opts[1]}" ]]; then
		_describe 'plugctl' opts
	else
		_files
	fi
}
compdef _plugctl plugctl
`
)
