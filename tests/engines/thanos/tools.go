//go:build tools

// Package tools pins the Thanos command this module builds; the build tag keeps it out of
// every ordinary build, `go mod tidy` still records its requirements.
package tools

import (
	_ "github.com/thanos-io/thanos/cmd/thanos"
)
