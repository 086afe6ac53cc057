package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	if err := probe(srv.URL); err != nil {
		t.Errorf("200: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := probe(srv.URL); err == nil {
		t.Error("503 passed the probe")
	}
	srv.Close()
	if err := probe(srv.URL); err == nil {
		t.Error("a closed server passed the probe")
	}
}
