package conformance

import (
	"strings"
	"testing"
	"time"
)

// TestContainersThroughEveryQueryType (issue 21): container_noisy_neighbour (cAdvisor and
// kube-state-metrics series beside node_exporter's) through insights, use_matrix and alert as
// Grafana sends them. The container finding is named namespace/pod/container with its
// Kubernetes names as columns, the alert number set carries them as labels, the matrix has a
// container row, and the components filter keeps containers only.
func TestContainersThroughEveryQueryType(t *testing.T) {
	p := startPlugin(t)
	e := startEnv(t, "scenario", "container_noisy_neighbour")
	ds := settings(e.Prometheus, nil, nil)
	at := time.Unix(e.Scenario.At, 0)
	resp := p.query(t, ds,
		query("I", "insights", at, map[string]any{"window": "10m"}),
		query("C", "insights", at, map[string]any{"window": "10m", "components": []string{"container"}}),
		query("A", "alert", at, map[string]any{"window": "10m"}),
		query("M", "use_matrix", at, map[string]any{"window": "10m"}),
	)
	for _, ref := range []string{"I", "C", "A", "M"} {
		if r := resp.Responses[ref]; r.Error != nil {
			t.Fatalf("%s failed: %v", ref, r.Error)
		}
	}

	// insights: the container's finding with its names and node; the host's bottleneck too.
	ins := resp.Responses["I"].Frames[0]
	inst, chk := column(t, ins, "instance"), column(t, ins, "check")
	ns, pod, ctr, node := column(t, ins, "namespace"), column(t, ins, "pod"), column(t, ins, "container"), column(t, ins, "node")
	obs := column(t, ins, "observation")
	container, host := -1, -1
	for i := 0; i < ins.Rows(); i++ {
		switch {
		case str(inst, i) == "shop/api-1/app" && str(chk, i) == "container.cpu.utilization":
			container = i
		case str(inst, i) == "k8s-node-2:9100" && str(chk, i) == "cpu.bottleneck":
			host = i
		}
	}
	if container < 0 || host < 0 {
		t.Fatalf("want the container's CPU finding and the node's bottleneck; instances %v", column(t, ins, "instance"))
	}
	got := strings.Join([]string{str(ns, container), str(pod, container), str(ctr, container), str(node, container)}, ",")
	if got != "shop,api-1,app,k8s-node-2" {
		t.Errorf("container labels %s, want shop,api-1,app,k8s-node-2", got)
	}
	if s := str(obs, container); !strings.Contains(s, "noisy neighbour") {
		t.Errorf("the container finding should name the saturated node: %s", s)
	}
	if str(ns, host) != "" || str(node, host) != "" {
		t.Errorf("a host finding has no Kubernetes names: %q %q", str(ns, host), str(node, host))
	}

	// components filter: containers only.
	comp := column(t, resp.Responses["C"].Frames[0], "component")
	if comp.Len() == 0 {
		t.Fatalf("container insights expected")
	}
	for i := 0; i < comp.Len(); i++ {
		if str(comp, i) != "container" {
			t.Errorf("components filter let %s through", str(comp, i))
		}
	}

	// alert: still a number set, with the container's names as labels; it fires (high).
	alert := resp.Responses["A"].Frames[0]
	if !isNumberSet(alert) {
		t.Fatalf("alert frame is not a number set: %v", fieldNames(alert))
	}
	ai, ac, an, ano, al := column(t, alert, "instance"), column(t, alert, "check"), column(t, alert, "namespace"), column(t, alert, "node"), column(t, alert, "severity_level")
	fired := false
	for i := 0; i < alert.Rows(); i++ {
		if str(ai, i) == "shop/api-1/app" && str(ac, i) == "container.cpu.utilization" {
			fired = al.At(i).(float64) >= 3 && str(an, i) == "shop" && str(ano, i) == "k8s-node-2"
		}
	}
	if !fired {
		t.Errorf("the alert row of shop/api-1/app should be high with namespace shop and node k8s-node-2")
	}

	// use_matrix: a container row for the container, its CPU utilization past the threshold.
	m := resp.Responses["M"].Frames[0]
	mi, mc, ms, ml := column(t, m, "instance"), column(t, m, "component"), column(t, m, "signal"), column(t, m, "level")
	level := ""
	for i := 0; i < m.Rows(); i++ {
		if str(mi, i) == "shop/api-1/app" && str(mc, i) == "container" && str(ms, i) == "utilization" {
			level = str(ml, i)
		}
	}
	if level != "critical" {
		t.Errorf("shop/api-1/app's container utilization cell is %q, want critical", level)
	}
}
