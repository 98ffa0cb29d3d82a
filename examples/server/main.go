// Command server is a server as most Go images hold one: it prints a banner when it starts and
// serves until it is stopped. It has no --version flag (an unknown flag exits with code 2).
//
//	server [-listen :8080]
//
// Routes: GET /healthz ("ok <version>"), GET / (a greeting).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

// Set at link time: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	srv := &http.Server{Addr: *listen, Handler: newMux(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "server %s (commit %s) listening on %s\n", version, commit, *listen)
	if err := srv.ListenAndServe(); err != nil {
		log.New(stderr, "server: ", 0).Print(err)
		return 1
	}
	return 0
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ok %s\n", version)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "hello from server")
	})
	return mux
}
