// Command ws-server is the second module of the repository: a metrics endpoint on TCP and a
// UDP listener, like a tunnel or VPN agent. It prints a banner once both listen.
//
//	ws-server [-metrics :9100] [-udp :51820]
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// Set at link time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ws-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metrics := fs.String("metrics", ":9100", "metrics address (TCP)")
	udp := fs.String("udp", ":51820", "tunnel address (UDP)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	conn, err := net.ListenPacket("udp", *udp)
	if err != nil {
		fmt.Fprintln(stderr, "ws-server:", err)
		return 1
	}
	defer conn.Close()
	ln, err := net.Listen("tcp", *metrics)
	if err != nil {
		fmt.Fprintln(stderr, "ws-server:", err)
		return 1
	}
	fmt.Fprintf(stdout, "ws-server %s listening on %s (metrics) and %s/udp\n", version, *metrics, *udp)
	srv := &http.Server{Handler: http.HandlerFunc(serveMetrics), ReadHeaderTimeout: 5 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(stderr, "ws-server:", err)
		return 1
	}
	return 0
}

func serveMetrics(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintf(w, "ws_server_info{version=%q} 1\n", version)
}
