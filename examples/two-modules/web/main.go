// Command web serves static assets and pages rendered from templates, both read from disk at
// run time (the image gets them with the runner build's `files:` key).
//
//	web [-listen :8080] [-static /srv/static] [-templates /srv/templates]
//
// Routes: GET /healthz (the health template), GET /static/... (the assets).
package main

import (
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Set at link time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "listen address")
	static := fs.String("static", "/srv/static", "directory of the static assets")
	templates := fs.String("templates", "/srv/templates", "directory of the templates")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	mux, err := newMux(*static, *templates)
	if err != nil {
		fmt.Fprintln(stderr, "web:", err)
		return 1
	}
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "web %s listening on %s\n", version, *listen)
	if err := srv.ListenAndServe(); err != nil {
		log.New(stderr, "web: ", 0).Print(err)
		return 1
	}
	return 0
}

func newMux(static, templates string) (*http.ServeMux, error) {
	health, err := template.ParseFiles(filepath.Join(templates, "health.html"))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.Dir(static))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = health.Execute(w, map[string]string{"Version": version})
	})
	return mux, nil
}
