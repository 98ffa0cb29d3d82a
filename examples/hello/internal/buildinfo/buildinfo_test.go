package buildinfo

import "testing"

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   Info
		want string
	}{
		{"stamped", Info{"hello-cli", "1.2.3", "0123abc", "2024-05-01T12:00:00Z"},
			"hello-cli 1.2.3 (commit 0123abc, built 2024-05-01T12:00:00Z)"},
		{"unstamped defaults", Info{"hello-web", "dev", "none", "unknown"},
			"hello-web dev (commit none, built unknown)"},
		{"empty fields", Info{Name: "hello-cli"},
			"hello-cli dev (commit none, built unknown)"},
		{"prerelease", Info{"hello-web", "2.0.0-rc.1", "deadbeef", "2025-01-02T03:04:05Z"},
			"hello-web 2.0.0-rc.1 (commit deadbeef, built 2025-01-02T03:04:05Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
