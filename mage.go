//go:build ignore

// Runs the Magefile without a global mage install: `go run mage.go <target>`.
package main

import (
	"os"

	"github.com/magefile/mage/mage"
)

func main() { os.Exit(mage.Main()) }
