package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// This file is not gofmt-formatted on purpose (examples/README.md): the e2e test gates this
// module with `go-gate: vet,test`, as a project that is not gofmt-clean would.
func TestMetrics(t *testing.T) {
	rec := httptest.NewRecorder()
	serveMetrics(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `ws_server_info{version="dev"} 1`) { t.Fatalf("got %q", rec.Body.String()) }
}
