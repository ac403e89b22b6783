// Command provisioning writes the dashboard and the alert rule that provision.Dashboard and
// provision.AlertFile build into the directory given (the repository's provisioning/), and the
// app's copy of the dashboard (provision.AppDashboard) into frontend/src/dashboards/ beside it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gregg-insights/gregg-insights/tests/conformance/provision"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: provisioning DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	d, err := provision.Dashboard()
	if err != nil {
		fail(err)
	}
	a, err := provision.AlertFile()
	if err != nil {
		fail(err)
	}
	app, err := provision.AppDashboard()
	if err != nil {
		fail(err)
	}
	write(filepath.Join(dir, "dashboards", "use-method.json"), d)
	write(filepath.Join(dir, "alerting", "gregg-insights.json"), a)
	write(filepath.Join(dir, "..", "frontend", "src", "dashboards", "use-method.json"), app)
}

func write(path string, v any) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		fail(err)
	}
	fmt.Println("wrote", path)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "provisioning:", err)
	os.Exit(1)
}
