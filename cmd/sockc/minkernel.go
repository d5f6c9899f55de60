package main

import (
	"github.com/spf13/cobra"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/hook"
)

// minKernelFlag is --min-kernel of check and compile.
type minKernelFlag struct{ value string }

func (f *minKernelFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.value, "min-kernel", "", "warn about handlers that need a newer Linux than `VERSION` (e.g. 5.10)")
}

// options turns the flag into build options; a bad version is a usage
// error.
func (f *minKernelFlag) options(cmd string) (sockc.Options, error) {
	if f.value == "" {
		return sockc.Options{}, nil
	}
	v, err := hook.ParseKernelVersion(f.value)
	if err != nil {
		return sockc.Options{}, usageErrorf("%s: --min-kernel: %v", cmd, err)
	}
	if min := hook.MinSupportedKernel(); v.Before(min) {
		return sockc.Options{}, usageErrorf("%s: --min-kernel %s: sockc supports Linux %s and later", cmd, f.value, min)
	}
	return sockc.Options{MinKernel: v}, nil
}
