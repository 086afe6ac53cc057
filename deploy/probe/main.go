// Command stegvis-probe is the container image's health check: it asks one URL and
// exits 0 when the answer is 2xx, 1 otherwise. The image is distroless (no shell, no
// curl), and a Compose healthcheck runs a command inside the container; Kubernetes
// probes ask over HTTP themselves and need none of this.
//
//	stegvis-probe http://127.0.0.1:8080/readyz
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: stegvis-probe URL")
		os.Exit(2)
	}
	if err := probe(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "stegvis-probe: %v\n", err)
		os.Exit(1)
	}
}

func probe(url string) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
