package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoutes(t *testing.T) {
	mux, err := newMux("static", "templates")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/healthz":          "web dev is healthy",
		"/static/hello.txt": "hello from a static asset",
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %q, want %q", path, rec.Code, rec.Body.String(), want)
		}
	}
}
