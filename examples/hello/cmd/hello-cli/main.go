// Command hello-cli prints a greeting.
//
//	hello-cli [--name NAME] [--lang TAG]
//	hello-cli --version
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"example.com/hello/internal/buildinfo"
	"example.com/hello/internal/greet"
)

// Set at link time: -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hello-cli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	name := fs.String("name", "", "who to greet (default: the world)")
	lang := fs.String("lang", "en", "BCP 47 language tag used for title casing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.Info{Name: "hello-cli", Version: version, Commit: commit, Date: date})
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hello-cli: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintln(stdout, greet.Greeting(*name, *lang))
	return 0
}
