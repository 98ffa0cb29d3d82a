package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != 0 {
		t.Fatalf("run(--version) = %d, stderr %q", code, errOut.String())
	}
	if got, want := out.String(), "hello-web dev (commit none, built unknown)\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/", 200, "Hello, World!\n"},
		{"/?name=gopher", 200, "Hello, Gopher!\n"},
		{"/?name=istanbul&lang=tr", 200, "Hello, İstanbul!\n"},
		{"/healthz", 200, "ok\n"},
		{"/version", 200, `{"commit":"none","date":"unknown","name":"hello-web","version":"dev"}` + "\n"},
		{"/nope", 404, ""},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.wantCode)
			continue
		}
		if tt.wantBody != "" && string(body) != tt.wantBody {
			t.Errorf("GET %s: body %q, want %q", tt.path, body, tt.wantBody)
		}
	}
}
