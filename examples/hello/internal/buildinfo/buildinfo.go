// Package buildinfo formats the version line that every command prints for --version.
//
// The values come from the linker: each main package declares
//
//	var version, commit, date = "dev", "none", "unknown"
//
// and the Dockerfiles set them with
// -ldflags "-X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE".
package buildinfo

import "fmt"

// Info is what a binary knows about its own build.
type Info struct {
	// Name is the command name, e.g. "hello-cli".
	Name string
	// Version is the release version without a leading "v", e.g. "1.2.3"; "dev" when not set.
	Version string
	// Commit is the full or short commit SHA; "none" when not set.
	Commit string
	// Date is the build date (RFC 3339); "unknown" when not set.
	Date string
}

// String returns the one-line version string, e.g.
// "hello-cli 1.2.3 (commit 0123abc, built 2024-05-01T12:00:00Z)".
// Empty fields fall back to the same defaults as an unstamped build.
func (i Info) String() string {
	return fmt.Sprintf("%s %s (commit %s, built %s)",
		orDefault(i.Name, "unknown"), orDefault(i.Version, "dev"),
		orDefault(i.Commit, "none"), orDefault(i.Date, "unknown"))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
