package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// withheld matches what repository code must never see: the action's inputs and state, the
// runner's ACTIONS_* tokens and URLs, the file-command paths, and anything named like a secret.
var withheld = regexp.MustCompile(`^(INPUT_|STATE_|ACTIONS_)|^GITHUB_(OUTPUT|ENV|PATH|STATE|STEP_SUMMARY|TOKEN)$|(?i)TOKEN|PASSWORD|PASSWD|SECRET`)

// TestNoSecretsInEnvironment is what a hostile test in a pull request would do: read the
// environment. It writes the names it could read (never the values) to $ENVPROBE_OUT/test.txt
// and fails when one of them is withheld.
func TestNoSecretsInEnvironment(t *testing.T) {
	var names, found []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
		if withheld.MatchString(name) {
			found = append(found, name)
		}
	}
	sort.Strings(names)
	if dir := os.Getenv("ENVPROBE_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "test.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(found) > 0 {
		t.Errorf("go test can read %s", strings.Join(found, ", "))
	}
}
