// Command sbom-scanner is BuildKit's SBOM generator protocol around the syft CLI: BuildKit runs
// it with the root filesystem of a build result mounted read-only at $BUILDKIT_SCAN_SOURCE (and
// other stages' under $BUILDKIT_SCAN_SOURCE_EXTRAS, when asked for), and reads back every file
// written to $BUILDKIT_SCAN_DESTINATION as an in-toto statement. For each target this runs
// `syft scan dir:<target>` with the catalogers syft uses for images (a rootfs is an image's
// filesystem: installed packages and the Go modules compiled into binaries), and wraps the SPDX
// JSON document it writes in a statement with the https://spdx.dev/Document predicate type, named
// <basename of the target>.spdx.json. The subject is left empty: BuildKit's exporter makes the
// image the subject. See docs/attestations/sbom-protocol.md of github.com/moby/buildkit.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const (
	statementType = "https://in-toto.io/Statement/v0.1"
	predicateSPDX = "https://spdx.dev/Document"
)

// statement is an in-toto statement with an SPDX predicate, as BuildKit unbundles it.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []any           `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sbom-scanner:", err)
		os.Exit(1)
	}
}

func run() error {
	dest := os.Getenv("BUILDKIT_SCAN_DESTINATION")
	src := os.Getenv("BUILDKIT_SCAN_SOURCE")
	if dest == "" || src == "" {
		return fmt.Errorf("BUILDKIT_SCAN_DESTINATION and BUILDKIT_SCAN_SOURCE must be set (BuildKit's SBOM generator protocol)")
	}
	targets, err := scanTargets(src, os.Getenv("BUILDKIT_SCAN_SOURCE_EXTRAS"))
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := scan(t, filepath.Join(dest, filepath.Base(t)+".spdx.json")); err != nil {
			return err
		}
	}
	return nil
}

// scanTargets is the main target, then every directory of extras (none when it is unset, empty
// or missing: the protocol's optional parameter).
func scanTargets(src, extras string) ([]string, error) {
	targets := []string{src}
	if extras == "" {
		return targets, nil
	}
	entries, err := os.ReadDir(extras)
	if os.IsNotExist(err) {
		return targets, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			targets = append(targets, filepath.Join(extras, e.Name()))
		}
	}
	return targets, nil
}

// scan writes the in-toto statement of one target's SPDX document to out.
func scan(target, out string) error {
	tmp, err := os.CreateTemp("", "spdx-*.json")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("syft", "scan", "dir:"+target,
		"--override-default-catalogers", "image",
		"--source-name", filepath.Base(target),
		"--quiet", "--output", "spdx-json="+tmp.Name())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("syft scan %s: %w", target, err)
	}
	doc, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	if !json.Valid(doc) {
		return fmt.Errorf("syft wrote no JSON document for %s", target)
	}
	b, err := json.Marshal(statement{statementType, predicateSPDX, []any{}, doc})
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
