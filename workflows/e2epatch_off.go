//go:build !e2epatch

package workflows

// e2ePatch is off: the released workflow. See e2epatch.go.
const e2ePatch = false
