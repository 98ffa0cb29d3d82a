package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "ok ") {
		t.Fatalf("GET /healthz: %d %q", rec.Code, rec.Body.String())
	}
}

func TestUnknownFlag(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--version"}, &out, &errs); code != 2 {
		t.Fatalf("--version: exit code %d, want 2", code)
	}
}
