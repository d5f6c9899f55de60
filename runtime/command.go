package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Command is a process started by StartCommand in a cgroup of its own
// with the sockops program attached.
type Command struct {
	Cmd *exec.Cmd
	// Cgroup is the cgroup2 directory the command runs in.
	Cgroup string

	cleanup func() error
	once    sync.Once
	err     error
}

// StartCommand creates a fresh child cgroup under the cgroup2 mount,
// attaches the sockops program to it and starts cmd inside it (the child
// is created directly in the cgroup, so none of its sockets escape). Only
// cmd and its descendants are affected. Wait detaches and removes the
// cgroup; Close of the Runtime does too, killing the command's processes
// first if they still run (call Wait to reap the command).
func (rt *Runtime) StartCommand(cmd *exec.Cmd) (c *Command, err error) {
	prog := rt.sockopsProgram()
	if prog == nil {
		return nil, fmt.Errorf("no sockops program: run the command directly")
	}
	path, remove, err := NewChildCgroup(CommandCgroupPrefix)
	if err != nil {
		return nil, err
	}
	l, err := link.AttachCgroup(link.CgroupOptions{Path: path, Attach: ebpf.AttachCGroupSockOps, Program: prog})
	if err != nil {
		remove()
		return nil, fmt.Errorf("attach sockops to cgroup %s: %w", path, explainAttach(err))
	}
	c = &Command{Cmd: cmd, Cgroup: path}
	c.cleanup = func() error {
		// Stragglers first (cgroup.kill), then the program, then the
		// cgroup itself.
		return errors.Join(l.Close(), remove())
	}
	if err := rt.push(c.finish); err != nil {
		return nil, err
	}
	dir, err := os.Open(path)
	if err != nil {
		c.finish()
		return nil, fmt.Errorf("open cgroup %s: %w", path, err)
	}
	defer dir.Close()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	if err := cmd.Start(); err != nil {
		c.finish()
		return nil, fmt.Errorf("start %s in cgroup %s: %w", cmd.Path, path, err)
	}
	return c, nil
}

// Wait waits for the command, then kills whatever it left running in its
// cgroup, detaches the sockops program and removes the cgroup. It returns
// the command's error (an *exec.ExitError for a non-zero status) joined
// with any cleanup error.
func (c *Command) Wait() error {
	err := c.Cmd.Wait()
	return errors.Join(err, c.finish())
}

// Kill kills every process in the command's cgroup (killCgroup): the
// command and whatever it started.
func (c *Command) Kill() error { return killCgroup(c.Cgroup) }

func (c *Command) finish() error {
	c.once.Do(func() { c.err = c.cleanup() })
	return c.err
}

func (rt *Runtime) sockopsProgram() *ebpf.Program {
	for _, a := range rt.plan {
		if a.Type == ebpf.AttachCGroupSockOps {
			return rt.coll.Programs[a.Program]
		}
	}
	return nil
}
