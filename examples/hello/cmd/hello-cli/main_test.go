package main

import (
	"bytes"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"--version"}, 0, "hello-cli dev (commit none, built unknown)\n"},
		{nil, 0, "Hello, World!\n"},
		{[]string{"--name", "gopher"}, 0, "Hello, Gopher!\n"},
		{[]string{"-name=ijsbrand", "-lang=nl"}, 0, "Hello, IJsbrand!\n"},
		{[]string{"extra"}, 2, ""},
		{[]string{"--no-such-flag"}, 2, ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.wantCode || out.String() != tt.wantOut {
			t.Errorf("run(%q) = %d, %q (stderr %q); want %d, %q",
				tt.args, code, out.String(), errOut.String(), tt.wantCode, tt.wantOut)
		}
	}
}
