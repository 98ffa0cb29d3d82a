// Command broken-version is the negative case of the smoke test: it is built exactly like the
// other examples, with -ldflags "-X main.version=$VERSION ...", but its --version output ignores
// the injected version and always reports 0.0.0-wrong. A smoke test that checks the version
// printed by the image must fail on it.
package main

import (
	"flag"
	"fmt"
)

// Set at link time like every other example, and then (deliberately) not used for --version.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// wrongVersion is the bug: a hard-coded version instead of the injected one.
const wrongVersion = "0.0.0-wrong"

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("broken-version %s (commit %s, built %s)\n", wrongVersion, commit, date)
		return
	}
	_ = version
	fmt.Println("broken-version: this image reports the wrong version on purpose")
}
