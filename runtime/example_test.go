package runtime_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/runtime"
)

// Where the programs of a compiled file go, without touching the kernel.
func ExamplePlan() {
	spec, err := sockc.Compile("bypass.sock", []byte(`
sockhash socks: key (ip4, port, ip4, port)
on established: update socks key(local_ip4, local_port, remote_ip4, remote_port)
on msg to socks: redirect key(remote_ip4, remote_port, local_ip4, local_port) ingress
`))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := runtime.Plan(spec, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range plan {
		if a.Map == "" {
			fmt.Printf("%s -> a cgroup (%s)\n", a.Program, a.Type)
		} else {
			fmt.Printf("%s -> map %s (%s)\n", a.Program, a.Map, a.Type)
		}
	}
	// Output:
	// msg_socks -> map socks (SkMsgVerdict)
	// sockops -> a cgroup (CGroupSockOps)
}

// An echo server in the kernel: each accepted connection is paired with
// itself, so its bytes go straight back out. (Needs root; the kernel tests
// run it.)
func ExampleLoadSource() {
	rt, err := runtime.LoadSource("echo.sock", []byte(`
sockhash echo: key u64
on stream verdict to echo: redirect peer
`), runtime.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	echo, _ := rt.Map("echo")

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	defer client.Close()
	server, _ := ln.Accept()
	defer server.Close()
	if err := echo.Pair(server.(*net.TCPConn), server.(*net.TCPConn)); err != nil {
		log.Fatal(err)
	}

	client.Write([]byte("hello, kernel"))
	buf := make([]byte, 13)
	io.ReadFull(client, buf)
	fmt.Println(string(buf))
}

// Put sockets into a sockmap by index and redirect one's messages into the
// other's receive queue, as test_sockmap.c does. (Needs root.)
func ExampleMap_Put() {
	rt, err := runtime.LoadSource("ingress.sock", []byte(`
sockmap socks: max 2
on msg to socks: redirect key(1) ingress
`), runtime.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	socks, _ := rt.Map("socks")

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	sender, _ := net.Dial("tcp", ln.Addr().String())
	defer sender.Close()
	s1, _ := ln.Accept()
	defer s1.Close()
	other, _ := net.Dial("tcp", ln.Addr().String())
	defer other.Close()
	target, _ := ln.Accept()
	defer target.Close()

	socks.Put(sender.(*net.TCPConn), 0)
	socks.Put(target.(*net.TCPConn), 1)
	sender.Write([]byte("for the target"))
	buf := make([]byte, 14)
	io.ReadFull(target, buf)
	fmt.Println(string(buf))
}

// An in-kernel TCP proxy: sockc pairs each client with a connection to the
// upstream, and the kernel moves the bytes. (Needs root.)
func ExampleProxy() {
	rt, err := runtime.LoadSource("proxy.sock", []byte(`
sockhash conns: key u64
on stream verdict to conns: redirect peer
`), runtime.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	conns, _ := rt.Map("conns")

	// An upstream that answers "pong" to anything.
	up, _ := net.Listen("tcp", "127.0.0.1:0")
	defer up.Close()
	go func() {
		c, err := up.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Read(make([]byte, 4))
		c.Write([]byte("pong"))
	}()

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	p := &runtime.Proxy{Map: conns, Upstream: up.Addr().String()}
	go func() { done <- p.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
}

// Run a command with the bypass attached to a cgroup of its own; the
// cgroup goes away when the command ends. (Needs root.)
func ExampleRuntime_StartCommand() {
	rt, err := runtime.LoadFile("../examples/bypass.sock", runtime.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	cmd := exec.Command("sh", "-c", `grep -q '^0::/sockc-' /proc/self/cgroup && echo "in a cgroup of its own"`)
	cmd.Stdout = os.Stdout
	c, err := rt.StartCommand(cmd)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(c.Cgroup); os.IsNotExist(err) {
		fmt.Println("cgroup removed")
	}
}
