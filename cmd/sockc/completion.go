package main

// The worked examples of `sockc completion` and of its shell subcommands,
// which cobra makes without any. TestHelpExamples runs them in a
// temporary HOME, so the installs write there.

// completionExample loads bash completion into the reader's shell and shows
// that bash now knows how to complete sockc.
const completionExample = `  # Load bash completion into this shell: with the bash-completion package,
  # sockc TAB then completes commands and flags. complete -p shows it is set.
  $ source <(sockc completion bash); complete -p sockc
  complete -o default -F __start_sockc sockc

  # Install it for every new bash (bash-completion reads this directory).
  $ mkdir -p ~/.local/share/bash-completion/completions
  $ sockc completion bash > ~/.local/share/bash-completion/completions/sockc`

// shellCompletionExample is the worked example of `sockc completion SHELL`,
// "" for a shell cobra adds that this file does not know.
func shellCompletionExample(shell string) string {
	switch shell {
	case "bash":
		return completionExample
	case "zsh":
		return `  # Install it as a completion function in a directory of zsh's $fpath
  # (~/.zshrc needs fpath=(~/.zfunc $fpath) before compinit).
  $ mkdir -p ~/.zfunc
  $ sockc completion zsh > ~/.zfunc/_sockc`
	case "fish":
		return `  # Install it where fish loads completions from, for every new fish.
  $ mkdir -p ~/.config/fish/completions
  $ sockc completion fish > ~/.config/fish/completions/sockc.fish`
	case "powershell":
		return `  # Save it, then load it in PowerShell with: . ./sockc.ps1 (the same
  # line in $PROFILE loads it in every session).
  $ sockc completion powershell > sockc.ps1`
	}
	return ""
}
