//go:build e2epatch

package workflows

// e2ePatch is on only in the end-to-end test's patched build (go build -tags
// e2epatch). See e2epatch.go.
const e2ePatch = true
