package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/web"
)

func init() { register(newServeCmd) }

func newServeCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "Serve the explorer: step through an expression's backward pass in a browser",
		Long: `serve starts a web server with the backprop explorer: type an expression and
its variables' values, see its circuit, and step through the forward pass
(values, in green) and the backward pass (gradients, in red), where every node
multiplies its local gradient by the upstream gradient. The lecture's examples
are one click away. Arrow keys step back and forth.

The page and its assets are built into the binary; nothing is loaded from the
internet. The server listens on 127.0.0.1 (this machine only) unless --addr
says otherwise, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM.`,
		Example: `  backprop serve
  backprop serve --addr 127.0.0.1:9000
  backprop serve --addr :8080      # every interface: others on the network can use it`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd.OutOrStdout(), addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
	return cmd
}

// runServe serves the explorer on addr until ctx ends, printing the URL
// once it listens.
func runServe(ctx context.Context, out io.Writer, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	url, everywhere := serveURL(ln.Addr(), addr)
	fmt.Fprintf(out, "backprop: explorer at %s (Ctrl-C to stop)\n", url)
	if everywhere {
		fmt.Fprintf(out, "backprop: listening on every interface: anyone who can reach this machine can use it\n")
	}
	if err := web.New(web.Options{}).Serve(ctx, ln); err != nil {
		return fmt.Errorf("serving on %s: %w", addr, err)
	}
	fmt.Fprintf(out, "backprop: stopped\n")
	return nil
}

// serveURL is the address to open in a browser. A listener on every
// interface (":8080", "0.0.0.0:8080", "[::]:8080") is reached through the
// loopback address of its family; asked is the --addr that made it.
func serveURL(a net.Addr, asked string) (url string, everywhere bool) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/", false
	}
	host := tcp.IP
	if host == nil || host.IsUnspecified() {
		everywhere = true
		host = net.IPv4(127, 0, 0, 1)
		if h, _, err := net.SplitHostPort(asked); err == nil && strings.Contains(h, ":") {
			host = net.IPv6loopback
		}
	}
	return "http://" + net.JoinHostPort(host.String(), strconv.Itoa(tcp.Port)) + "/", everywhere
}
