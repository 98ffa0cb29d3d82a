// Command wrong-arch is a correct program in an image built with a real-world Dockerfile mistake
// (see the Dockerfile): every platform's image gets the linux/amd64 binary. On an amd64 runner
// the smoke test still passes on linux/arm64, because the kernel runs that x86-64 binary
// natively; only a check of the binary's architecture catches it.
package main

import (
	"flag"
	"fmt"
	"runtime"
)

// Set at link time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("wrong-arch %s (commit %s, built %s)\n", version, commit, date)
		return
	}
	fmt.Printf("wrong-arch: built for %s/%s\n", runtime.GOOS, runtime.GOARCH)
}
