// Command envprobe prints its version; its test (probe_test.go) reports the secrets the
// environment of `go test` holds. Used by test/e2e/secrets.test.ts.
package main

import "fmt"

var version = "dev"

func main() {
	fmt.Printf("envprobe %s\n", version)
}
