// Package provision builds what users provision into Grafana beside the plugin: the "USE
// Method — Gregg Insights" dashboard and an alert rule on the `alert` query type, with
// grafana-foundation-sdk's builders rather than hand-written JSON. `go run mage.go
// provisioning` writes them under provisioning/; a conformance test checks the committed files
// are what this package builds, and that every query in them is one the plugin answers.
package provision

import (
	"encoding/json"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/expr"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const (
	// PluginType is the data source plugin id.
	PluginType = "gregg-insights-datasource"
	// DatasourceUID is the uid provisioning/datasources/gregg-insights.yaml gives it.
	DatasourceUID = "gregg-insights"
	// PanelType is the report panel's plugin id.
	PanelType = "gregg-insights-panel"
	// MatrixPanelType is the USE-matrix panel's plugin id.
	MatrixPanelType = "gregg-insights-matrix-panel"
	// DashboardUID is the dashboard's uid.
	DashboardUID = "gregg-insights-use"
	// Folder is where the alert rule lives.
	Folder = "Gregg Insights"
)

// Query is a Gregg Insights query as panels store it (docs/frames.md).
type Query struct {
	RefID       string                `json:"refId"`
	Datasource  *common.DataSourceRef `json:"datasource,omitempty"`
	QueryType   string                `json:"queryType"`
	Window      string                `json:"window,omitempty"`
	Instances   string                `json:"instances,omitempty"`
	MinSeverity string                `json:"minSeverity,omitempty"`
	TimelineBy  string                `json:"timelineBy,omitempty"`
	Components  []string              `json:"components,omitempty"`
}

// ImplementsDataqueryVariant makes Query a foundation-sdk data query.
func (Query) ImplementsDataqueryVariant() {}

// DataqueryType names the plugin the query is for.
func (Query) DataqueryType() string { return PluginType }

// Validate accepts every query; the plugin is the judge (see the conformance test).
func (Query) Validate() error { return nil }

// Equals compares two queries.
func (q Query) Equals(other variants.Dataquery) bool { return reflect.DeepEqual(q, other) }

// Build makes Query its own builder.
func (q Query) Build() (variants.Dataquery, error) { return q, nil }

var _ cog.Builder[variants.Dataquery] = Query{}

// gregg refers to a Gregg Insights data source by uid: the provisioned one's, or
// `${datasource}` in the dashboard the app ships, which lets users pick their data source.
func gregg(uid string) common.DataSourceRef {
	t := PluginType
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

func promRef() common.DataSourceRef {
	t, uid := "prometheus", "${prometheus}"
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

func q(uid, refID, queryType string) Query {
	ds := gregg(uid)
	return Query{RefID: refID, Datasource: &ds, QueryType: queryType, Window: "10m", Instances: "$instance"}
}

// containerMetric is a graph of one series per Kubernetes container (cAdvisor and
// kube-state-metrics), pod cgroups and pause containers left out.
func containerMetric(title, expr, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Datasource(promRef()).
		Unit(unit).
		Min(0).
		Height(8).
		Span(8).
		WithTarget(prometheus.NewDataqueryBuilder().RefId("A").Expr(expr).LegendFormat("{{namespace}}/{{pod}}/{{container}}"))
}

func metric(title, expr, unit string, max float64) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Datasource(promRef()).
		Unit(unit).
		Min(0).
		Height(8).
		Span(8).
		WithTarget(prometheus.NewDataqueryBuilder().RefId("A").Expr(expr).LegendFormat("{{instance}}"))
	if max > 0 {
		p = p.Max(max)
	}
	return p
}

// Dashboard builds "USE Method — Gregg Insights" for provisioning, bound to the provisioned
// data source (uid gregg-insights): the USE-matrix panel over the whole fleet, the report
// panel, metric graphs with the insight annotations, the severity timeline and the insights
// table, for the instances picked in `$instance` (a click in the matrix sets it).
func Dashboard() (dashboard.Dashboard, error) {
	return build(DatasourceUID, nil)
}

// AppDashboard is the same dashboard as the app ships it (plugin.json `includes`): a
// `$datasource` variable picks the Gregg Insights data source, whatever its uid.
func AppDashboard() (dashboard.Dashboard, error) {
	return build("${datasource}", dashboard.NewDatasourceVariableBuilder("datasource").Label("Gregg Insights").Type(PluginType))
}

func build(uid string, variable cog.Builder[dashboard.VariableModel]) (dashboard.Dashboard, error) {
	instancesQuery := q(uid, "V", "instances")
	instancesQuery.Instances = ""
	instancesQuery.Window = ""
	var queryModel map[string]any
	raw, _ := json.Marshal(instancesQuery)
	_ = json.Unmarshal(raw, &queryModel)
	annotations := q(uid, "Anno", "annotations")
	annotations.MinSeverity = "medium"
	insights := q(uid, "A", "insights")
	insights.MinSeverity = "low"
	timeline := q(uid, "A", "severity_timeline")
	timeline.Window = ""
	// The matrix shows every instance, whatever `$instance` holds: a click on a cell sets
	// `$instance` for the report below, and the matrix marks the chosen rows rather than
	// shrinking to them. Its insights query gives a clicked cell its finding and Explore link.
	matrix := q(uid, "A", "use_matrix")
	matrix.Instances = ""
	matrixInsights := q(uid, "B", "insights")
	matrixInsights.Instances = ""
	// Containers are named namespace/pod/container, not instances of `$instance`: their row
	// shows every container's findings.
	containerInsights := q(uid, "A", "insights")
	containerInsights.Instances = ""
	containerInsights.MinSeverity = "info"
	containerInsights.Components = []string{"container"}
	d := dashboard.NewDashboardBuilder("USE Method — Gregg Insights").
		Uid(DashboardUID).
		Tags([]string{"gregg-insights", "use-method", "performance"}).
		Time("now-6h", "now").
		Refresh("1m")
	if variable != nil {
		d = d.WithVariable(variable)
	}
	return d.
		WithVariable(dashboard.NewDatasourceVariableBuilder("prometheus").Label("Prometheus").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("instance").
			Label("Instance").
			Datasource(gregg(uid)).
			Query(dashboard.StringOrMap{Map: queryModel}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Multi(true).
			IncludeAll(true).
			AllValue(".*")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Gregg Insights").
			Datasource(gregg(uid)).
			Enable(true).
			IconColor("red").
			Target(annotations)).
		WithPanel(dashboard.NewPanelBuilder().
			Type(MatrixPanelType).
			Title("USE matrix").
			Description("Instances × resources, each cell split into utilization, saturation and errors, worst first. Click a cell for its finding; it sets $instance for the report.").
			Datasource(gregg(uid)).
			Height(12).
			Span(24).
			Options(map[string]any{"variable": "instance"}).
			WithTarget(matrix).
			WithTarget(matrixInsights)).
		WithPanel(dashboard.NewPanelBuilder().
			Type(PanelType).
			Title("Systems performance report").
			Datasource(gregg(uid)).
			Height(14).
			Span(24).
			WithTarget(q(uid, "A", "report"))).
		WithPanel(metric("CPU utilization", `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", instance=~"$instance"}[$__rate_interval])))`, "percent", 100)).
		WithPanel(metric("Memory utilization", `100 * (1 - node_memory_MemAvailable_bytes{instance=~"$instance"} / node_memory_MemTotal_bytes{instance=~"$instance"})`, "percent", 100)).
		WithPanel(metric("Disk busy", `100 * max by (instance) (rate(node_disk_io_time_seconds_total{instance=~"$instance"}[$__rate_interval]))`, "percent", 100)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Worst severity per resource (0 none … 4 critical)").
			Datasource(gregg(uid)).
			Min(0).
			Max(4).
			Height(8).
			Span(24).
			WithTarget(timeline)).
		WithPanel(table.NewPanelBuilder().
			Title("Insights").
			Datasource(gregg(uid)).
			Height(10).
			Span(24).
			WithTarget(insights)).
		WithRow(dashboard.NewRowBuilder("Containers")).
		WithPanel(table.NewPanelBuilder().
			Title("Container findings").
			Description("Containers against their own limits (cAdvisor, kube-state-metrics): CPU and memory against the limit, CFS throttling, OOM kills, restarts, and those without limits. Each names its node and whether the node is saturated too.").
			Datasource(gregg(uid)).
			Height(8).
			Span(24).
			WithTarget(containerInsights)).
		WithPanel(containerMetric("Container CPU of its limit", `100 * sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="", container!="POD"}[$__rate_interval])) / on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_resource_limits{resource="cpu"})`, "percent")).
		WithPanel(containerMetric("CFS periods throttled", `100 * sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{container!="", container!="POD"}[$__rate_interval])) / on (namespace, pod, container) sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{container!="", container!="POD"}[$__rate_interval]))`, "percent")).
		WithPanel(containerMetric("Container memory of its limit", `100 * max by (namespace, pod, container) (container_memory_working_set_bytes{container!="", container!="POD"}) / on (namespace, pod, container) max by (namespace, pod, container) (container_spec_memory_limit_bytes{container!="", container!="POD"} > 0)`, "percent")).
		Build()
}

// AlertRule builds the rule "USE finding at high or critical": the `alert` query (one series
// per instance × check, `severity_level` 0–4) and a threshold above 2. Healthy rows are 0, so
// the alert resolves instead of going to "no data".
func AlertRule() (alerting.Rule, error) {
	alert := q(DatasourceUID, "A", "alert")
	alert.Instances = ""
	return alerting.NewRuleBuilder("USE finding at high or critical").
		Uid("gregg-insights-use-high").
		RuleGroup("Gregg Insights").
		FolderUID("gregg-insights").
		Condition("C").
		WithQuery(alerting.NewQueryBuilder("A").
			DatasourceUid(DatasourceUID).
			RelativeTimeRange(600, 0).
			Model(alert)).
		WithQuery(alerting.NewQueryBuilder("C").
			DatasourceUid("__expr__").
			Model(expr.NewExprBuilder().TypeThreshold(expr.NewTypeThresholdBuilder().
				RefId("C").
				Expression("A").
				Conditions([]cog.Builder[expr.ExprTypeThresholdConditions]{
					expr.NewExprTypeThresholdConditionsBuilder().Evaluator(
						expr.NewExprTypeThresholdConditionsEvaluatorBuilder().
							Type(expr.ExprTypeThresholdConditionsEvaluatorTypeGt).
							Params([]float64{2})),
				})))).
		For("5m").
		NoDataState(alerting.RuleNoDataStateOK).
		ExecErrState(alerting.RuleExecErrStateError).
		Labels(map[string]string{"source": "gregg-insights"}).
		Annotations(map[string]string{
			"summary":     "{{ $labels.check }} on {{ $labels.instance }} is at severity level {{ $values.A }} (3 high, 4 critical)",
			"description": "Open the USE Method — Gregg Insights dashboard for the observation, evidence, root cause and next commands.",
		}).
		Build()
}

// AlertFile is Grafana's file-provisioning format for alert rules (apiVersion 1, groups).
func AlertFile() (map[string]any, error) {
	rule, err := AlertRule()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(rule)
	if err != nil {
		return nil, err
	}
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		return nil, err
	}
	// File provisioning takes the folder and group from the group; the rest as the API has it.
	keep := map[string]any{}
	for _, k := range []string{"uid", "title", "condition", "data", "for", "noDataState", "execErrState", "labels", "annotations"} {
		if v, ok := full[k]; ok {
			keep[k] = v
		}
	}
	return map[string]any{
		"apiVersion": 1,
		"groups": []any{map[string]any{
			"orgId":    1,
			"name":     "Gregg Insights",
			"folder":   Folder,
			"interval": "1m",
			"rules":    []any{keep},
		}},
	}, nil
}
